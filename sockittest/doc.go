// Package sockittest holds helpers that sockit's tests, and users testing
// against sockit, share. Everything runs on real sockets, on loopback or in
// network namespaces the test makes, and waits on a signal, never a sleep.
//
//   - Serving: Serve and ServeSocket put a service on a fresh socket of any
//     family (port 0, or a unix socket in the test's directory) and close
//     it when the test ends; Start does the same where there is no
//     testing.TB, as in the Examples.
//   - Peers: RequireTool finds a real program on the PATH (skipping the
//     test locally, failing it under CI=true); StartXinetd, Nginx and
//     BriefAsyncioServer run those peers; WaitLine waits for a readiness
//     line instead of sleeping.
//   - Scripted and faulty servers: ScriptedHTTP, CannedServer, TCPPeer and
//     ServeDNS answer as a test scripts them; Misbehave fails its clients
//     one of several ways (silent, stalled, trickling, hanging up).
//   - Shutdown scenes, HTTP response reading, self-signed certificates,
//     seeded random data, Eventually, and veth pairs in namespaces (Netns,
//     VethPair, RequireRoot).
package sockittest
