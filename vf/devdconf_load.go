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
