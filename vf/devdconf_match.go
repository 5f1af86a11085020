package vf

import (
	"errors"
	"fmt"
	"strings"
)

// Events as devd reads them, and the rule devd runs for one.

// DevdEvent is one event as devd's process_event reads it.
type DevdEvent struct {
	kind string // "notify", "nomatch", "attach", "detach"
	vars map[string]string
}

// ParseDevdEvent reads a devctl line ("!system=ETHERNET subsystem=mce0
// type=IFATTACH", "+mce0 at ... on pci0", ...) into its kind and
// variables, as devd.cc's process_event and set_vars do, including $*
// (the whole line) and $_ (the line without its first byte).
func ParseDevdEvent(line string) (DevdEvent, error) {
	if line == "" {
		return DevdEvent{}, errors.New("empty devd event")
	}
	ev := DevdEvent{vars: map[string]string{"*": line, "_": line[1:], "timestamp": "0.000000"}}
	rest := line[1:]
	switch line[0] {
	case '!':
		ev.kind = "notify"
		setDevdVars(rest, ev.vars)
		return ev, nil
	case '?':
		ev.kind = "nomatch"
	case '+':
		ev.kind = "attach"
	case '-':
		ev.kind = "detach"
	default:
		return DevdEvent{}, fmt.Errorf("devd event %q: unknown type %q", line, line[0])
	}
	name, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return DevdEvent{}, fmt.Errorf("devd event %q: no space after the device", line)
	}
	if ev.kind != "nomatch" {
		ev.vars["device-name"] = name
	}
	rest = strings.TrimPrefix(strings.TrimLeftFunc(rest, isSpaceRune), "at ")
	rest = strings.TrimLeftFunc(setDevdVars(rest, ev.vars), isSpaceRune)
	if bus, ok := strings.CutPrefix(rest, "on "); ok {
		ev.vars["bus"] = bus
	}
	return ev, nil
}

func isSpaceRune(r rune) bool { return r < 0x80 && isCSpace(byte(r)) }

// setDevdVars is devd's set_vars over chop_var: name=value and
// name="value" pairs separated by white space, up to the first word that
// is not one. It returns the rest.
func setDevdVars(s string, vars map[string]string) string {
	for s != "" {
		j := 0
		for j < len(s) && isDevdIDByte(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			return s
		}
		name, v := s[:j], s[j+1:]
		var val string
		if strings.HasPrefix(v, `"`) {
			k := 1
			for k < len(v) && v[k] != '"' {
				if v[k] == '\\' && k+1 < len(v) && v[k+1] == '"' {
					k++
				}
				k++
			}
			if k >= len(v) {
				return s
			}
			val, v = v[1:k], v[k+1:]
		} else {
			k := 0
			for k < len(v) && !isCSpace(v[k]) {
				k++
			}
			val, v = v[:k], v[min(k+1, len(v)):]
		}
		vars[name] = fixValue(val)
		s = strings.TrimLeftFunc(v, isSpaceRune)
	}
	return s
}

// Match returns the rule devd runs for ev: the first rule of ev's kind,
// in priority order, all of whose matches hold (devd.cc,
// config::find_and_execute runs that one and stops), or nil. A rule
// with no action still stops the search: that is how a rule of higher
// priority overrides another. media-type, which devd answers with an
// ioctl on the interface, is taken to hold for "ethernet" only: the
// interfaces the VF events name (hn(4) and its VF) are Ethernet.
func (c *DevdConf) Match(ev DevdEvent) *DevdRule {
	for _, r := range c.rules[ev.kind] {
		if c.matches(r, ev) {
			return r
		}
	}
	return nil
}

// MatchAll returns every rule of ev's kind that matches it, in the order
// devd tries them; the first is the one devd runs.
func (c *DevdConf) MatchAll(ev DevdEvent) []*DevdRule {
	var out []*DevdRule
	for _, r := range c.rules[ev.kind] {
		if c.matches(r, ev) {
			out = append(out, r)
		}
	}
	return out
}

func (c *DevdConf) matches(r *DevdRule, ev DevdEvent) bool {
	for _, m := range r.matchers {
		if m.name == "" {
			if !strings.EqualFold(m.media, "ethernet") {
				return false
			}
			continue
		}
		v, _ := c.lookup(ev)(m.name)
		ok := m.re != nil && m.re.MatchString(v)
		if ok == m.invert {
			return false
		}
	}
	return true
}

// lookup is devd's config::get_variable during an event: the event's
// variables, then the global ones; unset is empty.
func (c *DevdConf) lookup(ev DevdEvent) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := ev.vars[name]; ok {
			return v, true
		}
		return c.global(name)
	}
}

// Commands are the commands devd would run for r on ev, expanded as
// devd's action::do_action does before it hands them to sh -c.
func (c *DevdConf) Commands(r *DevdRule, ev DevdEvent) []string {
	var out []string
	for _, a := range r.Actions() {
		out = append(out, expandDevd(a, c.lookup(ev), shellQuote))
	}
	return out
}

func (c *DevdConf) global(name string) (string, bool) {
	v, ok := c.vars[name]
	return v, ok
}

// expandDevd is devd's config::expand_string and expand_one: "$$" is
// "$", "$(...)" passes through, "$" before anything but a letter, "_",
// "-" or "*" stays, and "$name" (name: that byte, then letters, digits,
// "_" and "-") is the variable's value, or nothing if unset. With quote
// set (actions), values are shell-quoted as devd's shell_quote does.
func expandDevd(s string, lookup func(string) (string, bool), quote func(string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		switch {
		case s == "":
			b.WriteByte('$')
			return b.String()
		case s[0] == '$':
			b.WriteByte('$')
			s = s[1:]
		case s[0] == '(':
			depth, j := 0, 0
			for j < len(s) {
				switch s[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
				j++
				if depth == 0 {
					break
				}
			}
			b.WriteByte('$')
			b.WriteString(s[:j])
			s = s[j:]
		case !isAlpha(s[0]) && s[0] != '_' && s[0] != '-' && s[0] != '*':
			b.WriteByte('$')
			b.WriteByte(s[0])
			s = s[1:]
		default:
			j := 1
			for j < len(s) && isDevdIDByte(s[j]) {
				j++
			}
			v, _ := lookup(s[:j])
			if quote != nil {
				v = quote(v)
			}
			b.WriteString(v)
			s = s[j:]
		}
	}
}

func isAlpha(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// shellQuote is devd's config::shell_quote: $'...' with ' and \ escaped.
func shellQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "$'" + strings.ReplaceAll(s, `'`, `\'`) + "'"
}

// fixValue is devd's var_list::fix_value: `\"` becomes `"`.
func fixValue(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }
