// Package transfer is curl's command-line behaviour over httpraw.Client,
// as a library: the request a curl command line describes (Request: -X,
// -H, -d, --data-binary, --json, -G, -u, -A, -e, -b, --compressed,
// --http1.0), and the transfers of a list of URLs with curl's habits
// (Transfer: --retry, --fail, where the head and the body go with -i, -o,
// -O, -I and --raw, a binary body kept off a terminal, gzip decoding, -w's
// variables, -v's trace). sockit get and head are its flags and nothing
// else.
package transfer
