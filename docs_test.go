package sockit_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEveryPackageDocumented: every package of the module has its doc
// comment, and a package of several files keeps it in doc.go (issue 20,
// part 9), where a reader looks for it first.
func TestEveryPackageDocumented(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on the PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-json=ImportPath,Dir,Doc,GoFiles", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath, Dir, Doc string
			GoFiles              []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		if p.Doc == "" {
			t.Errorf("%s has no package doc comment", p.ImportPath)
			continue
		}
		if len(p.GoFiles) < 2 {
			continue
		}
		if !slices.Contains(p.GoFiles, "doc.go") {
			t.Errorf("%s has %d files and no doc.go", p.ImportPath, len(p.GoFiles))
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, "doc.go"), nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil || f.Doc == nil {
			t.Errorf("%s: doc.go holds no package comment (%v)", p.ImportPath, err)
		}
	}
	if n < 10 {
		t.Fatalf("go list found %d packages", n)
	}
}
