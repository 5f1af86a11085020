package vf

import "fmt"

// The grammar of sbin/devd/parse.y over the tokens of devdconf.go.

// devdStmtKind is what a statement inside a rule block does.
type devdStmtKind int

const (
	stmtMatch  devdStmtKind = iota // match "var" "regex" and its shorthands
	stmtMedia                      // media-type "type"
	stmtAction                     // action "command"
)

// devdStmt is one match or action of a rule, as written.
type devdStmt struct {
	kind  devdStmtKind
	name  string // the variable a match tests
	value string // the regex, media type or command
	line  int
}

// devdItem is one top-level statement of a file, in file order: an
// option (directory, pid-file, set) or a rule block.
type devdItem struct {
	option string // "directory", "pid-file", "set"; empty for a rule
	name   string // the variable of a set option
	value  string // the option's string
	rule   *DevdRule
}

// DevdParseError is a file devd(8) refuses: it exits with "Cannot parse
// FILE at line N" (sbin/devd/devd.cc, config::parse_one_file), so no rule
// of any file runs.
type DevdParseError struct {
	File string
	Line int
	Near string // the offending token
}

func (e *DevdParseError) Error() string {
	return fmt.Sprintf("devd cannot parse %s at line %d (near %s): devd(8) exits on this configuration", e.File, e.Line, e.Near)
}

// devdParser is a recursive-descent reading of parse.y, which has no
// error recovery: the first unexpected token ends the parse.
type devdParser struct {
	file string
	toks []devdToken
	pos  int
}

// parseDevd parses one file's text as devd's yyparse does. Empty rule
// blocks parse but, as in parse.y, add no rule.
func parseDevd(file string, src []byte) ([]devdItem, error) {
	p := &devdParser{file: file, toks: lexDevd(src)}
	var items []devdItem
	for p.peek().kind != tokEOF {
		switch t := p.next(); t.kind {
		case tokOptions:
			opts, err := p.options()
			if err != nil {
				return nil, err
			}
			items = append(items, opts...)
		case tokAttach, tokDetach, tokNomatch, tokNotify:
			r, err := p.block(t)
			if err != nil {
				return nil, err
			}
			if r != nil {
				items = append(items, devdItem{rule: r})
			}
		default:
			return nil, p.fail(t)
		}
	}
	return items, nil
}

func (p *devdParser) peek() devdToken { return p.toks[p.pos] }

func (p *devdParser) next() devdToken {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *devdParser) fail(t devdToken) error {
	near := t.text
	switch t.kind {
	case tokEOF:
		near = "end of file"
	case tokString:
		near = fmt.Sprintf("%q", t.text)
	case tokNumber:
		near = fmt.Sprint(t.num)
	case tokSemicolon:
		near = `";"`
	case tokBegin:
		near = `"{"`
	case tokEnd:
		near = `"}"`
	}
	return &DevdParseError{File: p.file, Line: t.line, Near: near}
}

// expect consumes the next token if it is of kind k.
func (p *devdParser) expect(k devdKind) (devdToken, error) {
	t := p.next()
	if t.kind != k {
		return t, p.fail(t)
	}
	return t, nil
}

// options: OPTIONS BEGINBLOCK option+ ENDBLOCK SEMICOLON, after OPTIONS.
func (p *devdParser) options() ([]devdItem, error) {
	if _, err := p.expect(tokBegin); err != nil {
		return nil, err
	}
	var items []devdItem
	for {
		t := p.next()
		var it devdItem
		switch t.kind {
		case tokDirectory, tokPidFile:
			it.option = t.text
		case tokSet:
			id, err := p.expect(tokID)
			if err != nil {
				return nil, err
			}
			it.option, it.name = "set", id.text
		case tokEnd:
			if len(items) == 0 { // options needs at least one option
				return nil, p.fail(t)
			}
			_, err := p.expect(tokSemicolon)
			return items, err
		default:
			return nil, p.fail(t)
		}
		s, err := p.expect(tokString)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokSemicolon); err != nil {
			return nil, err
		}
		it.value = s.text
		items = append(items, it)
	}
}

// block: KIND NUMBER BEGINBLOCK match_or_action* ENDBLOCK SEMICOLON,
// after KIND.
func (p *devdParser) block(kw devdToken) (*DevdRule, error) {
	prio, err := p.expect(tokNumber)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokBegin); err != nil {
		return nil, err
	}
	r := &DevdRule{Kind: kw.text, Priority: prio.num, File: p.file, Line: kw.line}
	for {
		t := p.next()
		st := devdStmt{line: t.line}
		switch t.kind {
		case tokEnd:
			if _, err := p.expect(tokSemicolon); err != nil {
				return nil, err
			}
			if len(r.stmts) == 0 {
				return nil, nil
			}
			return r, nil
		case tokMatch:
			v, err := p.expect(tokString)
			if err != nil {
				return nil, err
			}
			st.kind, st.name = stmtMatch, v.text
		case tokDeviceName, tokClass, tokSubdevice:
			st.kind, st.name = stmtMatch, t.text
		case tokMediaType:
			st.kind, st.name = stmtMedia, t.text
		case tokAction:
			st.kind = stmtAction
		default:
			return nil, p.fail(t)
		}
		s, err := p.expect(tokString)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokSemicolon); err != nil {
			return nil, err
		}
		st.value = s.text
		r.stmts = append(r.stmts, st)
	}
}
