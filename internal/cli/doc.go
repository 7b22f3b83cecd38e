// Package cli keeps the promises every sockit command makes its user, each
// in one place so that no command can break it on its own:
//
//   - one output path: a command's standard output (and any file it
//     writes) is an Output, which keeps the first write error, so a lost
//     write always ends as an error line and a failing exit status;
//   - one voice: Message words every error as nc and curl word theirs,
//     without Go's or a package's own words.
//
// The command (cmd/sockit) adds the "sockit CMD: " prefix and maps errors
// to exit statuses; libraries that report errors as text (a JSON field,
// a per-name line) word them with Message too.
package cli
