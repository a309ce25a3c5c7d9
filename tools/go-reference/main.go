// Command go-reference renders templates with Go's text/template and sprig,
// using the same settings as the gotemplate golden corpus ({% %} delimiters,
// sprig.TxtFuncMap, data decoded from JSON so numbers are float64).
//
//	go-reference render         < {"template": "...", "data": {...}}
//	go-reference check [cases]  compare every corpus case with Go's behaviour
//	go-reference bench [cases]  check, then time parse+execute and execute only
//	go-reference verify         < {"key": PEM} or {"cert", "certKey", "roots", "dns", "usage"}:
//	                            parse keys and certificates made elsewhere with Go's crypto
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

const corpus = "shared/testdata/gotemplate/cases.jsonl"

type testCase struct {
	Name     string      `json:"name"`
	Template string      `json:"template"`
	Data     interface{} `json:"data"`
	Expected *string     `json:"expected"`
	Error    bool        `json:"error"`
}

// funcs is built once: sprig.TxtFuncMap() allocates a fresh map of ~200
// functions on every call, which would dominate the timings.
var funcs = sprig.TxtFuncMap()

func newTemplate() *template.Template {
	return template.New("t").Delims("{%", "%}").Funcs(funcs)
}

func parse(text string) (*template.Template, error) {
	return newTemplate().Parse(text)
}

func execute(t *template.Template, data interface{}) (string, error) {
	var sb strings.Builder
	err := t.Execute(&sb, data)
	return sb.String(), err
}

func render(text string, data interface{}) (string, error) {
	t, err := parse(text)
	if err != nil {
		return "", err
	}
	return execute(t, data)
}

func main() {
	if len(os.Args) < 2 {
		fatal("usage: go-reference render|check|bench|verify [cases.jsonl]")
	}
	switch os.Args[1] {
	case "render":
		var in testCase
		if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
			fatal("bad input: " + err.Error())
		}
		out, err := render(in.Template, in.Data)
		if err != nil {
			fatal(err.Error())
		}
		fmt.Print(out)
	case "check":
		if check(loadCases()) > 0 {
			os.Exit(1)
		}
	case "verify":
		verify()
	case "bench":
		cases := loadCases()
		check(cases)
		bench(cases)
	default:
		fatal("unknown mode " + os.Args[1])
	}
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

// loadCases reads the corpus given as argument, or else looks for
// ../shared/testdata/gotemplate/cases.jsonl beside the repo, walking up
// from the current directory.
func loadCases() []testCase {
	path := ""
	if len(os.Args) > 2 {
		path = os.Args[2]
	} else if dir, err := os.Getwd(); err == nil {
		for ; path == ""; dir = filepath.Dir(dir) {
			if p := filepath.Join(dir, "..", corpus); fileExists(p) {
				path = p
			} else if dir == filepath.Dir(dir) {
				fatal("cannot find ../" + corpus + "; pass its path")
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		fatal(err.Error())
	}
	defer f.Close()
	var cases []testCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c testCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			fatal(fmt.Sprintf("%s: %v", path, err))
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		fatal(err.Error())
	}
	fmt.Printf("corpus: %s (%d cases)\n", path, len(cases))
	return cases
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// check renders every case and reports those that differ from the corpus.
func check(cases []testCase) (mismatches int) {
	for _, c := range cases {
		out, err := render(c.Template, c.Data)
		switch {
		case c.Error && err == nil:
			fmt.Printf("MISMATCH %s: expected an error, got %q\n", c.Name, out)
		case !c.Error && err != nil:
			fmt.Printf("MISMATCH %s: unexpected error: %v\n", c.Name, err)
		case !c.Error && c.Expected != nil && out != *c.Expected:
			fmt.Printf("MISMATCH %s:\n  expected %q\n  got      %q\n", c.Name, *c.Expected, out)
		default:
			continue
		}
		mismatches++
	}
	fmt.Printf("check: %d cases, %d mismatches\n", len(cases), mismatches)
	return mismatches
}

// nsPerOp calls f in growing batches until at least one second has passed
// and returns the mean wall time per call in nanoseconds.
func nsPerOp(f func()) float64 {
	const minTime = time.Second
	n, batch := 0, 1
	start := time.Now()
	for {
		t0 := time.Now()
		for i := 0; i < batch; i++ {
			f()
		}
		n += batch
		if el := time.Since(start); el >= minTime {
			return float64(el.Nanoseconds()) / float64(n)
		}
		if time.Since(t0) < 10*time.Millisecond {
			batch *= 2
		}
	}
}

// shared owns the function map once; shared.New(name).Parse(text) parses a
// template that uses it without installing the ~200 functions again.
var shared = newTemplate()

// bench times, per non-error case:
//
//	new+parse+exec  New+Delims+Funcs+Parse+Execute, a fresh template each time
//	parse+exec      Parse+Execute, the function map shared (shared.New)
//	exec            Execute of the already parsed template
func bench(cases []testCase) {
	fmt.Printf("fixed costs, ns: sprig.TxtFuncMap() %.0f (done once, in no figure below); "+
		"New+Delims+Funcs(prebuilt map) %.0f (in new+parse+exec only)\n\n",
		nsPerOp(func() { sprig.TxtFuncMap() }), nsPerOp(func() { newTemplate() }))
	fmt.Printf("%-28s %16s %16s %16s\n", "case", "new+parse+exec", "parse+exec", "exec")
	var totals [3]float64
	count := 0
	for _, c := range cases {
		if c.Error {
			continue
		}
		t, err := parse(c.Template)
		if err != nil {
			fmt.Printf("%-28s skipped: %v\n", c.Name, err)
			continue
		}
		mustRender := func(t *template.Template, err error) {
			if err == nil {
				_, err = execute(t, c.Data)
			}
			if err != nil {
				panic(err)
			}
		}
		ns := [3]float64{
			nsPerOp(func() { mustRender(parse(c.Template)) }),
			nsPerOp(func() { mustRender(shared.New("t").Parse(c.Template)) }),
			nsPerOp(func() { mustRender(t, nil) }),
		}
		fmt.Printf("%-28s %16.0f %16.0f %16.0f\n", c.Name, ns[0], ns[1], ns[2])
		for i := range ns {
			totals[i] += ns[i]
		}
		count++
	}
	if count == 0 {
		return
	}
	fmt.Printf("\n%-36s %16s %16s %16s\n", fmt.Sprintf("%d non-error cases, ns", count), "new+parse+exec", "parse+exec", "exec")
	fmt.Printf("%-36s %16.0f %16.0f %16.0f\n", "total for one render of every case", totals[0], totals[1], totals[2])
	n := float64(count)
	fmt.Printf("%-36s %16.0f %16.0f %16.0f\n", "mean per render", totals[0]/n, totals[1]/n, totals[2]/n)
}
