package scenarios

import (
	"fmt"
	"strings"
)

// FieldError is one problem found in a scenario file. Its message reads
//
//	file:line:column: field.path: what was expected (got X)
//
// Field is the dotted path of the offending value, in the same form --set
// takes ("cluster.nodes.1.count"). Values that came from a --set override have
// File "--set path=value" and Line/Column 0.
type FieldError struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one scenario, in file order. Loading
// reports all of them at once rather than stopping at the first.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
