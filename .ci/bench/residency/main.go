// Command residency says which parts of a running Go program's executable
// are resident (mapped into its page tables, counted in RssFile), per ELF
// section and, for .text, per module or package group:
//
//	residency PID [TOP]
//
// It reads /proc/PID/exe (sections and the symbol table; a binary built with
// -ldflags=-s has no symbols, then only sections are shown) and
// /proc/PID/pagemap (needs root or CAP_SYS_ADMIN for the present bits of
// another user's process). .ci/bench/run-500-rules.sh runs it on hlalert
// and vmalert when RESIDENCY=1. It lives under .ci (ignored by ./...).
package main

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

const page = 4096

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: residency PID [TOP]")
		os.Exit(2)
	}
	top := 25
	if len(os.Args) == 3 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "residency: TOP %q: want a positive number\n", os.Args[2])
			os.Exit(2)
		}
		top = n
	}
	if err := run(os.Args[1], top, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "residency:", err)
		os.Exit(1)
	}
}

func run(pid string, top int, w io.Writer) error {
	f, err := elf.Open("/proc/" + pid + "/exe")
	if err != nil {
		return fmt.Errorf("open executable: %w", err)
	}
	defer f.Close()
	pm, err := os.Open("/proc/" + pid + "/pagemap")
	if err != nil {
		return fmt.Errorf("open pagemap: %w", err)
	}
	defer pm.Close()
	// resident reports whether the page holding addr is present.
	resident := func(addr uint64) (bool, error) {
		var b [8]byte
		if _, err := pm.ReadAt(b[:], int64(addr/page*8)); err != nil {
			return false, fmt.Errorf("read pagemap: %w", err)
		}
		return binary.LittleEndian.Uint64(b[:])>>63 == 1, nil
	}

	fmt.Fprintf(w, "%-16s %9s %9s\n", "section", "size KiB", "resident")
	var text *elf.Section
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || s.Size < 16*page {
			continue
		}
		n := 0
		for a := s.Addr / page * page; a < s.Addr+s.Size; a += page {
			ok, err := resident(a)
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		fmt.Fprintf(w, "%-16s %9d %9d\n", s.Name, s.Size/1024, n*page/1024)
		if s.Name == ".text" {
			text = s
		}
	}
	syms, err := f.Symbols()
	if err != nil || text == nil {
		fmt.Fprintln(w, "(no symbol table: no per-package breakdown)")
		return nil
	}
	// Each resident .text page is shared among the groups whose functions
	// overlap it, in proportion to the bytes they hold on it.
	type group struct {
		name           string
		size, resident float64
	}
	groups := map[string]*group{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 || s.Value < text.Addr || s.Value >= text.Addr+text.Size {
			continue
		}
		g := groups[groupOf(s.Name)]
		if g == nil {
			g = &group{name: groupOf(s.Name)}
			groups[g.name] = g
		}
		g.size += float64(s.Size)
		for a := s.Value / page * page; a < s.Value+s.Size; a += page {
			lo, hi := max(a, s.Value), min(a+page, s.Value+s.Size)
			ok, err := resident(a)
			if err != nil {
				return err
			}
			if ok {
				g.resident += float64(hi - lo)
			}
		}
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *group) int { return cmp.Compare(b.resident, a.resident) })
	fmt.Fprintf(w, "\n%-60s %9s %9s\n", ".text by module/package", "size KiB", "resident")
	for i, g := range list {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%-60s %9.0f %9.0f\n", g.name, g.size/1024, g.resident/1024)
	}
	return nil
}

// groupOf names a function's module (github.com/x/y, golang.org/x/y,
// gopkg.in/y, go.opentelemetry.io, google.golang.org/y) or, for the standard
// library, its top folder.
func groupOf(sym string) string {
	sym = strings.TrimPrefix(sym, "type:.eq.")
	if i := strings.IndexAny(sym, "[("); i >= 0 {
		sym = sym[:i] // generic instance or pointer method: the path comes first
	}
	slash := strings.LastIndex(sym, "/")
	pkg := sym
	if j := strings.Index(sym[slash+1:], "."); j >= 0 {
		pkg = sym[:slash+1+j]
	}
	parts := strings.Split(pkg, "/")
	if !strings.Contains(parts[0], ".") {
		return "std: " + parts[0]
	}
	n := 3
	switch parts[0] {
	case "gopkg.in", "go.opentelemetry.io":
		n = 1
	case "google.golang.org", "go.yaml.in", "dario.cat":
		n = 2
	}
	return strings.Join(parts[:min(len(parts), n)], "/")
}
