package dashboard

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// browser drives one headless Chromium page over the DevTools protocol on
// a pipe (--remote-debugging-pipe: the browser reads commands on fd 3 and
// writes on fd 4, each message JSON ended by a NUL), so that a test can
// click and wait for what the page shows; no library and no port.
type browser struct {
	t       *testing.T
	w       io.WriteCloser
	in      chan cdpMsg
	next    int
	session string
	pending []cdpMsg // events read while waiting for a reply
	errors  []string // uncaught exceptions and console errors
}

type cdpMsg struct {
	ID        int                       `json:"id,omitempty"`
	Method    string                    `json:"method,omitempty"`
	Params    json.RawMessage           `json:"params,omitempty"`
	Result    json.RawMessage           `json:"result,omitempty"`
	Error     *struct{ Message string } `json:"error,omitempty"`
	SessionID string                    `json:"sessionId,omitempty"`
}

// cdpTimeout bounds every wait: for a reply, an event or a condition.
const cdpTimeout = 60 * time.Second

// startBrowser starts Chromium with one page of width×height CSS pixels.
func startBrowser(t *testing.T, bin string, width, height int) *browser {
	t.Helper()
	cmdR, cmdW, err := os.Pipe() // the browser's fd 3
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // the browser's fd 4
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	cmdR.Close()
	outW.Close()
	b := &browser{t: t, w: cmdW, in: make(chan cdpMsg, 64)}
	go func() {
		defer close(b.in)
		r := bufio.NewReader(outR)
		for {
			line, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m cdpMsg
			if json.Unmarshal(line[:len(line)-1], &m) == nil {
				b.in <- m
			}
		}
	}()
	t.Cleanup(func() {
		b.send("", "Browser.close", nil)
		cmdW.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(cdpTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
		outR.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%.3000s", stderr.String())
		}
	})
	var target struct{ TargetID string }
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	b.call(b.session, "Page.enable", nil, nil)
	b.call(b.session, "Runtime.enable", nil, nil)
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height,
		"deviceScaleFactor": 1, "mobile": false}, nil)
	return b
}

func (b *browser) send(session, method string, params any) int {
	b.next++
	msg := map[string]any{"id": b.next, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.w.Write(append(data, 0)); err != nil && method != "Browser.close" {
		b.t.Fatalf("cdp %s: %v", method, err)
	}
	return b.next
}

// read returns the next message, failing the test after cdpTimeout.
func (b *browser) read(what string) cdpMsg {
	b.t.Helper()
	select {
	case m, ok := <-b.in:
		if !ok {
			b.t.Fatalf("cdp: the browser closed its pipe while waiting for %s", what)
		}
		if m.Method == "Runtime.exceptionThrown" {
			b.errors = append(b.errors, string(m.Params))
		}
		return m
	case <-time.After(cdpTimeout):
		b.t.Fatalf("cdp: no %s within %v", what, cdpTimeout)
	}
	return cdpMsg{}
}

// call sends a command and decodes its result into out (when not nil).
func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	id := b.send(session, method, params)
	for {
		m := b.read("reply to " + method)
		if m.ID != id {
			if m.Method != "" {
				b.pending = append(b.pending, m)
			}
			continue
		}
		if m.Error != nil {
			b.t.Fatalf("cdp %s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				b.t.Fatalf("cdp %s: %v", method, err)
			}
		}
		return
	}
}

// waitEvent returns when the page's session sees the event method.
func (b *browser) waitEvent(method string) {
	b.t.Helper()
	for i, m := range b.pending {
		if m.Method == method && m.SessionID == b.session {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			return
		}
	}
	for {
		if m := b.read(method); m.Method == method && m.SessionID == b.session {
			return
		}
	}
}

// navigate loads url and waits for its load event.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.pending = b.pending[:0]
	var res struct{ ErrorText string }
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, &res)
	if res.ErrorText != "" {
		b.t.Fatalf("navigate %s: %s", url, res.ErrorText)
	}
	b.waitEvent("Page.loadEventFired")
}

// eval evaluates a JavaScript expression in the page, awaiting a promise,
// and decodes its value into out (when not nil).
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		b.t.Fatalf("eval %.200s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			b.t.Fatalf("eval %.200s: %v (%s)", expr, err, res.Result.Value)
		}
	}
}

// waitFor returns when the JavaScript condition cond holds, re-checking it
// on every change of the document (no polling).
func (b *browser) waitFor(cond string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`new Promise(function (resolve) {
  function ok() { try { return !!(%s); } catch (e) { return false; } }
  if (ok()) { resolve(true); return; }
  var mo = new MutationObserver(function () { if (ok()) { mo.disconnect(); resolve(true); } });
  mo.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})`, cond), nil)
}

// click presses and releases the mouse on the middle of the element of
// the CSS selector, as a user does.
func (b *browser) click(selector string) {
	b.t.Helper()
	var at struct{ X, Y float64 }
	b.eval(fmt.Sprintf(`(function () {
  var e = document.querySelector(%q); e.scrollIntoView({block: "center"});
  var r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
})()`, selector), &at)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		b.call(b.session, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": at.X, "y": at.Y,
			"button": "left", "clickCount": 1}, nil)
	}
}

// screenshot returns a PNG of the whole page, beyond the window's height.
func (b *browser) screenshot() []byte {
	b.t.Helper()
	var m struct {
		CSSContentSize struct{ Width, Height float64 }
	}
	b.call(b.session, "Page.getLayoutMetrics", nil, &m)
	var res struct{ Data string }
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.CSSContentSize.Width, "height": m.CSSContentSize.Height, "scale": 1}}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	return png
}
