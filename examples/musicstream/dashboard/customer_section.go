package dashboard

import "net/http"

// Section is a further page of one section of the customer page.
type Section struct {
	Plays    *PlayPage     `json:"plays,omitempty"`
	Interest *InterestPage `json:"interest,omitempty"`
	Queue    *QueueScan    `json:"queue,omitempty"`
	Errors   []string      `json:"errors"`
}

// serveSection serves /api/customer/<id>/<section>: plays and interest
// with ?offset= (from the newest) and ?limit=, ads and sms with ?before= (a
// QueueScan's Next) and ?limit=. limit is at most 4×PageSize.
func (d *Dashboard) serveSection(w http.ResponseWriter, r *http.Request) {
	sec := r.PathValue("section")
	switch sec {
	case "plays", "interest", "ads", "sms":
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no section " + sec + " (plays, interest, ads, sms)"})
		return
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), d.cfg.PageSize, 1, 4*d.cfg.PageSize)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: " + err.Error()})
		return
	}
	offset, err := intParam(q.Get("offset"), 0, 0, 1<<30)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "offset: " + err.Error()})
		return
	}
	before := q.Get("before")
	if before != "" {
		if _, err := previousID(before); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "before: " + err.Error()})
			return
		}
	}
	id, ok := d.customer(w, r, false)
	if !ok {
		return
	}
	s := Section{Errors: []string{}}
	ctx := r.Context()
	switch sec {
	case "plays":
		pg, err := d.plays(ctx, id, offset, limit)
		s.Plays = &pg
		s.addError(err)
	case "interest":
		pg, err := d.interest(ctx, id, offset, limit)
		s.Interest = &pg
		s.addError(err)
	default:
		qs, err := d.scanQueue(ctx, "queue:"+sec, id, before, limit)
		s.Queue = &qs
		s.addError(err)
	}
	writeJSON(w, http.StatusOK, s)
}

func (s *Section) addError(err error) {
	if err != nil {
		s.Errors = append(s.Errors, err.Error())
	}
}
