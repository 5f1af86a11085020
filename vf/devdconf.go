package vf

import (
	"bytes"
	"math"
)

// devd.conf(5) as devd(8) reads it: the tokens of sbin/devd/token.l and
// the grammar of sbin/devd/parse.y (FreeBSD 14). Statements, not lines:
// a string may span lines, and comments are tokens like any other.

// devdKind is a token of sbin/devd/token.l.
type devdKind int

const (
	tokEOF devdKind = iota
	tokSemicolon
	tokBegin // {
	tokEnd   // }
	tokNumber
	tokString
	tokID
	tokOptions
	tokSet
	tokDirectory
	tokPidFile
	tokAttach
	tokDetach
	tokDeviceName
	tokMediaType
	tokClass
	tokSubdevice
	tokAction
	tokMatch
	tokNomatch
	tokNotify
)

// devdKeywords are token.l's keyword rules. They come before the ID rule,
// so a word of exactly this text is the keyword (flex takes the earlier
// of two equally long matches).
var devdKeywords = map[string]devdKind{
	"options": tokOptions, "set": tokSet, "directory": tokDirectory, "pid-file": tokPidFile,
	"attach": tokAttach, "detach": tokDetach, "device-name": tokDeviceName,
	"media-type": tokMediaType, "class": tokClass, "subdevice": tokSubdevice,
	"action": tokAction, "match": tokMatch, "nomatch": tokNomatch, "notify": tokNotify,
}

type devdToken struct {
	kind devdKind
	text string // a STRING's value, an ID's or keyword's word
	num  int    // a NUMBER's value
	line int    // where the token starts
}

// lexDevd splits src into tokens as token.l does. It cannot fail:
// a byte no rule matches is skipped (flex's default rule echoes it to
// stdout, and devd goes on), so stray characters are ignored.
func lexDevd(src []byte) []devdToken {
	var toks []devdToken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '\n':
			line++
			i++
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, devdToken{kind: devdPunct[c], line: line})
			i++
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			i = lineCommentEnd(src, i)
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			n := blockCommentLen(src[i:])
			if n == 0 {
				i++
				break
			}
			line += bytes.Count(src[i:i+n], []byte("\n"))
			i += n
		case isDigit(c):
			n := runLen(src[i:], isDigit)
			toks = append(toks, devdToken{kind: tokNumber, num: atoi(src[i : i+n]), line: line})
			i += n
		case c == '"':
			n := quotedLen(src[i:])
			if n == 0 {
				i++
				break
			}
			toks = append(toks, devdToken{kind: tokString, text: devdString(src[i : i+n]), line: line})
			line += bytes.Count(src[i:i+n], []byte("\n"))
			i += n
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			n := 1 + runLen(src[i+1:], isDevdIDByte)
			toks = append(toks, devdWord(string(src[i:i+n]), line))
			i += n
		default:
			i++
		}
	}
	return append(toks, devdToken{kind: tokEOF, line: line})
}

// devdPunct are token.l's one-byte tokens.
var devdPunct = map[byte]devdKind{';': tokSemicolon, '{': tokBegin, '}': tokEnd}

// lineCommentEnd is where the comment at src[i] ("#.*$" or "\/\/.*$")
// ends: at its newline. "$" is flex's trailing context "\n", so on a last
// line without a newline it is no comment, and only its first byte is
// skipped.
func lineCommentEnd(src []byte, i int) int {
	nl := bytes.IndexByte(src[i:], '\n')
	if nl < 0 {
		return i + 1
	}
	return i + nl
}

// blockCommentLen is the length of the comment at the start of src
// ("\/\*([^*]|(\*+([^*\/])))*\*+\/", which ends at the first "*/" after
// the opening), or 0 if it is unterminated and so no comment.
func blockCommentLen(src []byte) int {
	end := bytes.Index(src[2:], []byte("*/"))
	if end < 0 {
		return 0
	}
	return 2 + end + 2
}

// quotedLen is the length of the string at the start of src, quotes
// included ("\"[^\"]+\"": at least one byte, newlines included, no
// escape for the quote itself), or 0 for "" or an unclosed quote, which
// are no string.
func quotedLen(src []byte) int {
	end := bytes.IndexByte(src[1:], '"')
	if end <= 0 {
		return 0
	}
	return 1 + end + 1
}

// runLen is how many bytes at the start of src satisfy ok.
func runLen(src []byte, ok func(byte) bool) int {
	n := 0
	for n < len(src) && ok(src[n]) {
		n++
	}
	return n
}

// devdWord is an ID token, or the keyword token of that exact word.
func devdWord(word string, line int) devdToken {
	kind, ok := devdKeywords[word]
	if !ok {
		kind = tokID
	}
	return devdToken{kind: kind, text: word, line: line}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDevdIDByte: the tail of token.l's "[A-Za-z][A-Za-z0-9_-]*".
func isDevdIDByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// atoi is FreeBSD's atoi(3), (int)strtol(s, NULL, 10): strtol saturates
// at LONG_MAX and the conversion to a 32-bit int keeps the low bits.
func atoi(digits []byte) int {
	var v int64
	for _, d := range digits {
		if v > (math.MaxInt64-int64(d-'0'))/10 {
			v = math.MaxInt64
			break
		}
		v = v*10 + int64(d-'0')
	}
	return int(int32(v))
}

// isCSpace is isspace(3) in the C locale, which devd does not change.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// devdString is the value of a STRING token tok (quotes included), as
// token.l's action builds it: a backslash-newline and the white space
// after it vanish, and the value is a C string, so it ends at a NUL.
func devdString(tok []byte) string {
	at := func(i int) byte { // flex NUL-terminates yytext
		if i < len(tok) {
			return tok[i]
		}
		return 0
	}
	n := bytes.IndexByte(tok, 0) // strlen(yytext)
	if n < 0 {
		n = len(tok)
	}
	var out []byte
	for i := 1; i <= n-2; i++ {
		if at(i) == '\\' && at(i+1) == '\n' {
			i += 2
			for isCSpace(at(i)) {
				i++
			}
		}
		out = append(out, at(i))
	}
	if z := bytes.IndexByte(out, 0); z >= 0 {
		out = out[:z]
	}
	return string(out)
}
