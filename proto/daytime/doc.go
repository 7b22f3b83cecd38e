// Package daytime is the Daytime Protocol, RFC 867.
//
// TCP (port 13): on connection the server sends the current date and time as
// an ASCII string and closes, ignoring any input. UDP (port 13): any
// datagram is answered with a datagram holding the string. RFC 867 fixes no
// syntax; sockit sends NIST's by default, as the brief's time.nist.gov sample
// shows:
//
//	JJJJJ YR-MO-DA HH:MM:SS TT L H msADV UTC(NIST) *
//
// JJJJJ is the Modified Julian Date; TT is 00 in standard time and 50 in
// daylight saving time (United States rules), counting down the days to
// the change during its month (see DSTCode); L is the
// leap-second warning (0: none announced — sockit knows of none); H is
// health (0: healthy); msADV is how many milliseconds early the line is sent
// to make up for network delay (sockit sends 0.0); "UTC(NIST)" and the
// on-time marker "*" are kept verbatim so NIST parsers accept the line. As
// NIST does, the line is sent between a leading and a trailing LF.
//
// The rfc822 format is RFC 1123's date (RFC 822 with a four-digit year),
// and ctime is C's asctime layout, what inetd's built-in sends.
package daytime
