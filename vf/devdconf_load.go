package vf

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
)

// DevdConf is devd(8)'s configuration as devd loads it at start
// (sbin/devd/devd.cc, config::parse): its configuration file, then every
// file whose name ends in ".conf" in each directory an "options {
// directory ...; }" names, in the order readdir(3) returns them; each
// kind of rule sorted by priority, highest first, with stable_sort, so
// rules of equal priority keep the order they were loaded in.
type DevdConf struct {
	Files []string // the files loaded, in order
	rules map[string][]*DevdRule
	vars  map[string]string // "set" options: devd's global variables
}

// DevdRule is one attach, detach, nomatch or notify block.
type DevdRule struct {
	Kind     string // "attach", "detach", "nomatch", "notify"
	Priority int
	File     string
	Line     int
	stmts    []devdStmt
	matchers []devdMatcher // the match and media-type statements
}

func (r *DevdRule) String() string {
	return fmt.Sprintf("%s %d at %s:%d", r.Kind, r.Priority, r.File, r.Line)
}

// Actions are the rule's action strings as written, in order.
func (r *DevdRule) Actions() []string {
	var out []string
	for _, s := range r.stmts {
		if s.kind == stmtAction {
			out = append(out, s.value)
		}
	}
	return out
}

const (
	// maxDevdFiles and maxDevdDirs bound what one load reads. devd
	// itself has no bound; a "directory" option in a file loaded from a
	// directory appends to the list devd is iterating over, which is
	// undefined behaviour in devd.cc (a vector grown under its iterator).
	maxDevdFiles = 512
	maxDevdDirs  = 16
)

// LoadDevdConf loads conf and the files of the directories it names as
// devd does. A missing conf is an error wrapping fs.ErrNotExist (devd
// exits: "Cannot open config file"); a missing or unreadable directory
// is skipped, as devd skips it. A file devd could not parse is a
// *DevdParseError.
func LoadDevdConf(conf string) (*DevdConf, error) {
	c := &DevdConf{rules: map[string][]*DevdRule{}, vars: map[string]string{}}
	var dirs []string
	if err := c.loadFile(conf, &dirs); err != nil {
		return nil, err
	}
	for i := 0; i < len(dirs); i++ {
		if i == maxDevdDirs {
			return nil, fmt.Errorf("devd configuration %s names more than %d directories", conf, maxDevdDirs)
		}
		names, err := readdirOrder(dirs[i])
		if err != nil {
			continue // devd: opendir failed, nothing loaded
		}
		for _, name := range names {
			// devd.cc, parse_files_in_dir: strcmp(d_name + d_namlen - 5, ".conf")
			if len(name) < len(".conf") || !strings.HasSuffix(name, ".conf") {
				continue
			}
			if len(c.Files) == maxDevdFiles {
				return nil, fmt.Errorf("devd configuration %s: more than %d files", conf, maxDevdFiles)
			}
			err := c.loadFile(dirs[i]+"/"+name, &dirs)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing: devd will not see it either
			}
			if err != nil {
				return nil, err
			}
		}
	}
	for _, rs := range c.rules {
		slices.SortStableFunc(rs, func(a, b *DevdRule) int { return cmp.Compare(b.Priority, a.Priority) })
	}
	return c, nil
}

// readdirOrder lists dir in the order the directory returns its entries
// (readdir(3)'s order, which devd uses), not sorted. "." and ".." are
// left out, as devd skips the first two entries.
func readdirOrder(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	return names, nil
}

// loadFile parses one file and applies its statements in order, as the
// parser's actions do: a "set" is visible to the matches that follow it,
// and a match's regex is expanded when it is parsed.
func (c *DevdConf) loadFile(path string, dirs *[]string) error {
	b, err := readBounded(path)
	if err != nil {
		return fmt.Errorf("devd configuration: %w", err)
	}
	items, err := parseDevd(path, b)
	if err != nil {
		return err
	}
	c.Files = append(c.Files, path)
	for _, it := range items {
		switch it.option {
		case "directory":
			*dirs = append(*dirs, it.value)
		case "set":
			c.vars[it.name] = fixValue(it.value)
		case "":
			c.compile(it.rule)
			c.rules[it.rule.Kind] = append(c.rules[it.rule.Kind], it.rule)
		}
	}
	return nil
}

// readBounded reads at most maxRulesFile bytes of path; a longer file is
// an error rather than half a configuration.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxRulesFile {
		return nil, fmt.Errorf("%s: longer than %d bytes", path, maxRulesFile)
	}
	return b, nil
}

// devdMatcher is a compiled match or media-type statement.
type devdMatcher struct {
	name   string
	re     *regexp.Regexp // nil: the regex did not compile
	invert bool
	media  string // media-type's type; name is empty then
}

// compile builds r's matchers as devd's match constructor does
// (devd.cc, match::match): a leading "!" inverts the match, variables
// are expanded with the values "set" so far, and the regex is anchored
// as "^" + regex + "$" (not grouped: "^a|b$" is "^a" or "b$") and
// compiled REG_EXTENDED | REG_ICASE. devd ignores regcomp's failure; the
// regex then matches nothing (regexec fails), so an inverted one
// matches everything. Go's syntax stands in for POSIX ERE; they agree
// on what devd rules use (alternation, classes, bracket expressions,
// repetition).
func (c *DevdConf) compile(r *DevdRule) {
	for _, s := range r.stmts {
		switch s.kind {
		case stmtMedia:
			r.matchers = append(r.matchers, devdMatcher{media: s.value})
		case stmtMatch:
			m := devdMatcher{name: s.name}
			re := s.value
			if strings.HasPrefix(re, "!") {
				m.invert, re = true, re[1:]
			}
			m.re, _ = regexp.Compile("(?i)^" + expandDevd(re, c.global, nil) + "$")
			r.matchers = append(r.matchers, m)
		}
	}
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
