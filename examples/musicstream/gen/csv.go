package gen

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

const playLayout = "2006-01-02 15:04:05"

// AppendPlayCSV appends a play in the demo's positional format (no newline).
func AppendPlayCSV(b []byte, p Play) []byte {
	b = strconv.AppendInt(b, p.EventID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, p.CustomerID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, p.TrackID, 10)
	b = append(b, ',', '"')
	b = p.Time.UTC().AppendFormat(b, playLayout)
	b = append(b, '"', ',')
	if p.Mobile {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, ',', '"')
	b = append(b, p.Zip...)
	return append(b, '"')
}

// WritePlays writes plays in the demo's positional CSV (tracks.csv).
func WritePlays(w io.Writer, plays []Play) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b []byte
	for _, p := range plays {
		b = AppendPlayCSV(b[:0], p)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// WriteCustomers writes cust.csv with its header.
func WriteCustomers(w io.Writer, cs []Customer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("CustID,Name,Gender,Address,zip,SignDate,Status,Level,Campaign,LinkedWithApps\n")
	for _, c := range cs {
		bw.WriteString(strconv.FormatInt(c.ID, 10) + "," + quote(c.Name) + "," + strconv.Itoa(c.Gender) + "," +
			quote(c.Address) + "," + quote(c.Zip) + "," + quote(c.SignDate.Format("01/02/2006")) + "," +
			strconv.Itoa(c.Status) + "," + strconv.Itoa(c.Level) + "," + strconv.Itoa(c.Campaign) + "," +
			strconv.Itoa(c.LinkedWithApps) + "\n")
	}
	return bw.Flush()
}

// WriteMusic writes music.csv with its header. Titles and artists with a
// comma are quoted.
func WriteMusic(w io.Writer, ts []Track) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("TrackId,Title,Artist,Length\n")
	q := func(s string) string {
		if strings.ContainsAny(s, ",\"") {
			return quote(s)
		}
		return s
	}
	for _, t := range ts {
		bw.WriteString(strconv.FormatInt(t.ID, 10) + "," + q(t.Title) + "," + q(t.Artist) + "," + strconv.Itoa(t.Length) + "\n")
	}
	return bw.Flush()
}

// WriteClicks writes clicks.csv with its header.
func WriteClicks(w io.Writer, cs []Click) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("EventID,CustID,AdClicked,Localtime\n")
	for _, c := range cs {
		bw.WriteString(strconv.FormatInt(c.EventID, 10) + "," + strconv.FormatInt(c.CustID, 10) + "," +
			quote(c.AdClicked) + "," + quote(c.Localtime.UTC().Format(time.DateTime)) + "\n")
	}
	return bw.Flush()
}

// WriteCustomerHashes writes customers as the customer:<id> hashes hold
// them, with a header of the hash fields (id, name, gender, address, zip,
// sign_date as YYYY-MM-DD, status, level, campaign, linked_with_apps): the
// form a job file's lookup loads.
func WriteCustomerHashes(w io.Writer, cs []Customer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("id,name,gender,address,zip,sign_date,status,level,campaign,linked_with_apps\n")
	for _, c := range cs {
		bw.WriteString(strconv.FormatInt(c.ID, 10) + "," + quote(c.Name) + "," + strconv.Itoa(c.Gender) + "," +
			quote(c.Address) + "," + quote(c.Zip) + "," + c.SignDate.Format("2006-01-02") + "," +
			strconv.Itoa(c.Status) + "," + strconv.Itoa(c.Level) + "," + strconv.Itoa(c.Campaign) + "," +
			strconv.Itoa(c.LinkedWithApps) + "\n")
	}
	return bw.Flush()
}

// WriteTrackHashes writes tracks as the track:<id> hashes hold them, with
// a header of the hash fields (id, title, artist, length).
func WriteTrackHashes(w io.Writer, ts []Track) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("id,title,artist,length\n")
	for _, t := range ts {
		bw.WriteString(strconv.FormatInt(t.ID, 10) + "," + quote(t.Title) + "," + quote(t.Artist) + "," + strconv.Itoa(t.Length) + "\n")
	}
	return bw.Flush()
}
