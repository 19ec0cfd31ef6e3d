package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ErrUnknownCustomer is the error of a customer of whom Redis holds
// nothing: no customer:<id> hash, no recorded plays, no interest list.
var ErrUnknownCustomer = errors.New("unknown customer")

// known returns nil when Redis holds anything of customer id, an error
// wrapping ErrUnknownCustomer when it holds nothing.
func (d *Dashboard) known(ctx context.Context, id string) error {
	p := d.cfg.Prefix
	// One EXISTS per key: on a Redis Cluster the three are in different slots.
	var cmds [3]*redis.IntCmd
	_, err := d.cfg.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, k := range []string{p + "customer:" + id, p + PlaysKey + id, p + "interest:" + id} {
			cmds[i] = pipe.Exists(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dashboard: look up customer %s: %w", id, err)
	}
	if cmds[0].Val()+cmds[1].Val()+cmds[2].Val() == 0 {
		return fmt.Errorf("%w %s: there is no %scustomer:%s hash (the reference data), no recorded plays and no interest list",
			ErrUnknownCustomer, id, p, id)
	}
	return nil
}

// customer returns the request's {id} when it is a customer id as the
// loader writes them (a non-negative integer) of a known customer;
// otherwise it answers 400, 404 or 503, as an HTML page when page is set
// (the customer page) and as JSON otherwise, and returns false.
func (d *Dashboard) customer(w http.ResponseWriter, r *http.Request, page bool) (string, bool) {
	id := r.PathValue("id")
	ok := id != "" && len(id) <= 18
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] >= '0' && id[i] <= '9'
	}
	code, err := http.StatusBadRequest, error(nil)
	if !ok {
		err = fmt.Errorf("%q is not a customer id (a non-negative integer)", id)
	} else if err = d.known(r.Context(), id); errors.Is(err, ErrUnknownCustomer) {
		code = http.StatusNotFound
	} else if err != nil {
		code = http.StatusServiceUnavailable
	}
	switch {
	case err == nil:
		return id, true
	case page:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		fmt.Fprintf(w, errorPage, http.StatusText(code), code, html.EscapeString(err.Error()))
	default:
		writeJSON(w, code, map[string]string{"error": err.Error()})
	}
	return "", false
}

// errorPage is the customer page's answer to a bad or unknown id: the
// status text, the code, the escaped message.
const errorPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rulestream · %[1]s</title><link rel="stylesheet" href="../app.css"></head>
<body data-status="error" data-code="%[2]d"><header><h1>Customer page · %[1]s</h1></header>
<p id="status" class="status error">%[3]s</p>
<p><a href="../">Back to the dashboard</a></p></body></html>
`

func (d *Dashboard) serveCustomer(w http.ResponseWriter, r *http.Request) {
	id, ok := d.customer(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, d.Customer(r.Context(), id, d.cfg.Clock.Now()))
}

// intParam parses a query parameter in [lo, hi]; "" is def.
func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not an integer in [%d, %d]", s, lo, hi)
	}
	return n, nil
}
