package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is how a finding stands.
type Status string

// Statuses, from harmless to blocking. A fail is something the
// administrator must fix for hvagent or a backup to work; a warn is
// degraded or unknown; ok and info need nothing.
const (
	OK   Status = "ok"
	Info Status = "info"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Finding is one thing the doctor saw. ID names the check and is stable
// for tools; Subject says which instance (a device path, an hn, a mount
// point) when the check has several. Remedy is set for warn and fail.
type Finding struct {
	ID      string `json:"id"`
	Subject string `json:"subject,omitempty"`
	Status  Status `json:"status"`
	Seen    string `json:"seen"`
	Remedy  string `json:"remedy,omitempty"`
}

// Summary counts findings by status.
type Summary struct {
	OK   int `json:"ok"`
	Info int `json:"info"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
}

// Report is the doctor's whole answer.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// add appends a finding and counts it.
func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	switch f.Status {
	case OK:
		r.Summary.OK++
	case Info:
		r.Summary.Info++
	case Warn:
		r.Summary.Warn++
	case Fail:
		r.Summary.Fail++
	}
}

// Failed reports whether any finding is a fail: the command's exit
// status is then 1.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person: one aligned line per
// finding, its remedy on the line below, and the counts.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tSEEN")
	for _, f := range r.Findings {
		check := f.ID
		if f.Subject != "" {
			check += " " + f.Subject
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Status, check, oneLine(f.Seen))
		if f.Remedy != "" {
			fmt.Fprintf(tw, "\t\tremedy: %s\n", oneLine(f.Remedy))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d fail, %d warn, %d ok, %d info\n", s.Fail, s.Warn, s.OK, s.Info)
	return err
}

// oneLine keeps a table row on one line whatever a message holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
