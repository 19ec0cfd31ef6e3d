package stream

import (
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// watcher wakes followed files when their directory reports a change to
// them (fsnotify: inotify on Linux, kqueue on the BSDs and macOS,
// ReadDirectoryChangesW on Windows), so that an append is read at once
// rather than at the next poll. It watches directories, not files: a file
// replaced under its name (rotation) goes on being reported. One watcher
// serves many files (a GlobSource's): one inotify instance for all, one
// watch per directory.
//
// A wake-up is only a hint: the reader then looks at the file as a poll
// does, and the poll goes on as the fallback for whatever the watcher
// misses (a directory removed, a network filesystem, an overflowed queue:
// on a watcher error every subscriber is woken).
type watcher struct {
	fs   *fsnotify.Watcher
	done chan struct{}

	// dirMu guards dirs and the calls to fs.Add and fs.Remove; mu guards
	// the subscriptions, which dispatch reads. mu is never held across a
	// call into fs: fsnotify may block delivering an event while it holds
	// its own lock.
	dirMu   sync.Mutex
	dirs    map[string]int // watched directory -> subscriptions using it
	mu      sync.Mutex
	files   map[string]map[*watchSub]struct{} // by cleaned path
	creates map[string]map[*watchSub]struct{} // by cleaned directory
}

// watchSub is one subscription: c receives (without blocking, one pending
// at most) when what it watches changes.
type watchSub struct {
	c     chan struct{}
	files []string // keys in watcher.files
	dirs  []string // directories it holds in watcher.dirs
	dir   string   // key in watcher.creates, if any
}

func (s *watchSub) wake() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

func newWatcher() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{fs: fw, done: make(chan struct{}), dirs: map[string]int{},
		files: map[string]map[*watchSub]struct{}{}, creates: map[string]map[*watchSub]struct{}{}}
	go w.run()
	return w, nil
}

func (w *watcher) run() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.dispatch(ev)
		case _, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.wakeAll() // events may be lost: let every reader look
		}
	}
}

func (w *watcher) dispatch(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	w.mu.Lock()
	defer w.mu.Unlock()
	for s := range w.files[name] {
		s.wake()
	}
	if ev.Has(fsnotify.Create) { // fsnotify reports a file moved in as created
		for s := range w.creates[filepath.Dir(name)] {
			s.wake()
		}
	}
}

func (w *watcher) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range []map[string]map[*watchSub]struct{}{w.files, w.creates} {
		for _, subs := range m {
			for s := range subs {
				s.wake()
			}
		}
	}
}

// file subscribes to changes of path: written, truncated, created,
// removed, renamed. When path is a symbolic link, the file it leads to now
// is watched too.
func (w *watcher) file(path string) (*watchSub, error) {
	s := &watchSub{c: make(chan struct{}, 1)}
	keys := []string{filepath.Clean(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && filepath.Clean(real) != keys[0] {
		keys = append(keys, filepath.Clean(real))
	}
	for _, k := range keys {
		if err := w.addDir(s, filepath.Dir(k)); err != nil {
			w.remove(s)
			return nil, err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		add(w.files, k, s)
	}
	s.files = keys
	return s, nil
}

// created subscribes to files created in (or moved into) dir.
func (w *watcher) created(dir string) (*watchSub, error) {
	s := &watchSub{c: make(chan struct{}, 1)}
	dir = filepath.Clean(dir)
	if err := w.addDir(s, dir); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	add(w.creates, dir, s)
	s.dir = dir
	return s, nil
}

func add(m map[string]map[*watchSub]struct{}, k string, s *watchSub) {
	if m[k] == nil {
		m[k] = map[*watchSub]struct{}{}
	}
	m[k][s] = struct{}{}
}

// addDir watches dir for s.
func (w *watcher) addDir(s *watchSub, dir string) error {
	w.dirMu.Lock()
	defer w.dirMu.Unlock()
	if w.dirs[dir] == 0 {
		if err := w.fs.Add(dir); err != nil {
			return err
		}
	}
	w.dirs[dir]++
	s.dirs = append(s.dirs, dir)
	return nil
}

// remove ends a subscription; a directory no longer used is unwatched.
func (w *watcher) remove(s *watchSub) {
	w.mu.Lock()
	for _, k := range s.files {
		delete(w.files[k], s)
		if len(w.files[k]) == 0 {
			delete(w.files, k)
		}
	}
	if s.dir != "" {
		delete(w.creates[s.dir], s)
		if len(w.creates[s.dir]) == 0 {
			delete(w.creates, s.dir)
		}
	}
	s.files, s.dir = nil, ""
	w.mu.Unlock()
	w.dirMu.Lock()
	defer w.dirMu.Unlock()
	for _, d := range s.dirs {
		if w.dirs[d]--; w.dirs[d] <= 0 {
			delete(w.dirs, d)
			_ = w.fs.Remove(d) // already gone if the directory was removed
		}
	}
	s.dirs = nil
}

// close stops the watcher.
func (w *watcher) close() error {
	err := w.fs.Close()
	<-w.done
	return err
}
