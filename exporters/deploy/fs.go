package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the part of the filesystem the collector reads: the profile links
// and the system closures they point to. Tests use OSFS over a tree of real
// symlinks under t.TempDir().
type FS interface {
	ReadDir(name string) ([]fs.DirEntry, error)
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
	// EvalSymlinks resolves every link in path (filepath.EvalSymlinks).
	EvalSymlinks(path string) (string, error)
}

// OSFS is the real filesystem.
type OSFS struct{}

func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (OSFS) Lstat(name string) (fs.FileInfo, error)     { return os.Lstat(name) }
func (OSFS) Readlink(name string) (string, error)       { return os.Readlink(name) }
func (OSFS) EvalSymlinks(path string) (string, error)   { return filepath.EvalSymlinks(path) }
