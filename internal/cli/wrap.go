package cli

import "strings"

// Wrap breaks s into lines that end by column width at spaces, for text
// that starts at column indent: the lines after the first are indented by
// indent spaces (a hanging indent, as a help listing's second column). A
// word longer than a line stays whole.
func Wrap(s string, width, indent int) string {
	var b strings.Builder
	col := indent
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case col+1+len(w) > width:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = indent
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}
