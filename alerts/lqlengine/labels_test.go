package lqlengine

import "github.com/hlalert/hlalert/alerts/series"

// ParseLabels parses a stream's label set in LogQL notation,
// {job="app", host="a"}: equality matchers only, each name once, no empty
// value. Errors are *ParseError with the column.
func ParseLabels(s string) (series.Labels, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	if err := p.expectOp("{"); err != nil {
		return nil, err
	}
	ls := series.Labels{}
	if p.peek().isOp("}") {
		p.advance()
	} else {
		for {
			name := p.peek()
			if name.kind != tIdent {
				return nil, p.expected(name, "IDENTIFIER")
			}
			p.advance()
			if op := p.peek(); !op.isOp("=") {
				return nil, errAt(s, op.pos, "syntax error: unexpected %s, expecting \"=\" (stream labels take equality only)", describe(op))
			}
			p.advance()
			v, err := p.expectString()
			if err != nil {
				return nil, err
			}
			if ls.Has(name.text) {
				return nil, errAt(s, name.pos, "duplicate label name %q", name.text)
			}
			if v == "" {
				return nil, errAt(s, name.pos, "label %q has an empty value", name.text)
			}
			ls = append(ls, series.Label{Name: name.text, Value: v})
			t := p.advance()
			if t.isOp("}") {
				break
			}
			if !t.isOp(",") {
				return nil, p.expected(t, `"," or "}"`)
			}
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	ls.Sort()
	return ls, nil
}
