package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// WatchConfig configures a watcher. Zero values mean the defaults.
type WatchConfig struct {
	// OnReload, if set, is called after each reload attempt with the live
	// version and the attempt's error (nil when the set was swapped in or
	// unchanged).
	OnReload func(version string, err error)
	// Load, if set, takes the file's content instead of Engine.Reload: for a
	// file that holds more than rules (a job file), whose loader compiles
	// them and swaps them in itself.
	Load func(path string, data []byte) error
	// Logger receives watcher errors. Default: discard.
	Logger *slog.Logger
}

func (c *WatchConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnReload == nil {
		c.OnReload = func(string, error) {}
	}
}

// FileWatcher reloads a rule file into an engine whenever the file
// changes. It watches the file's directory, so editors that save by
// renaming a new file over the old one are seen too. Compilation happens on
// the watcher's goroutine, off the pipeline's hot path; the swap is atomic.
type FileWatcher struct {
	en   *Engine
	path string
	cfg  WatchConfig
	w    *fsnotify.Watcher
}

// NewFileWatcher starts watching path. Changes made after it returns are
// seen by Run. Close it with Run's context.
func NewFileWatcher(en *Engine, path string, cfg WatchConfig) (*FileWatcher, error) {
	cfg.setDefaults()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("rules: watch %s: %w", path, err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("rules: watch %s: %w", path, err)
	}
	return &FileWatcher{en: en, path: path, cfg: cfg, w: w}, nil
}

// Run reloads the file once, then on every change, until ctx ends; it
// returns ctx.Err() (or the watcher's failure).
func (fw *FileWatcher) Run(ctx context.Context) error {
	defer fw.w.Close()
	fw.reload()
	name := filepath.Clean(fw.path)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-fw.w.Events:
			if !ok {
				return errors.New("rules: file watcher closed")
			}
			if filepath.Clean(ev.Name) == name && ev.Has(fsnotify.Write|fsnotify.Create|fsnotify.Rename) {
				fw.reload()
			}
		case err, ok := <-fw.w.Errors:
			if !ok {
				return errors.New("rules: file watcher closed")
			}
			fw.cfg.Logger.Warn("rules watcher", "path", fw.path, "err", err)
		}
	}
}

func (fw *FileWatcher) reload() {
	data, err := os.ReadFile(fw.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return // renamed away mid-save; the Create that follows reloads
		}
		fw.cfg.Logger.Warn("rules watcher", "path", fw.path, "err", err)
		fw.cfg.OnReload(fw.en.Live().Version(), err)
		return
	}
	if fw.cfg.Load != nil {
		err = fw.cfg.Load(fw.path, data)
	} else {
		err = fw.en.Reload(fw.path, data)
	}
	fw.cfg.OnReload(fw.en.Live().Version(), err)
}
