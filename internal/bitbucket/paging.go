package bitbucket

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// page is Bitbucket's paged answer.
type page[T any] struct {
	Values        []T  `json:"values"`
	IsLastPage    bool `json:"isLastPage"`
	NextPageStart *int `json:"nextPageStart"`
}

// getAll follows nextPageStart until the last page. It never computes the
// next start itself, stops if the server sends a start it already sent
// (which would loop forever), and bounds the listing as a whole: its
// bytes, its time and its pages, so that a server that keeps inventing
// pages cannot exhaust memory or time. A *LimitError says which bound.
func getAll[T any](ctx context.Context, c *Client, u *url.URL) ([]T, error) {
	lctx, cancel := context.WithTimeout(ctx, c.listTime)
	defer cancel()
	var all []T
	seen := map[int]bool{0: true}
	start := 0
	var total int64
	limit := func(l Limit, pages int) error {
		return &LimitError{Method: http.MethodGet, Path: u.EscapedPath(), Limit: l, MaxBytes: c.listBytes,
			MaxTime: c.listTime, MaxPages: c.listPages, Pages: pages, Bytes: total}
	}
	for pages := 0; ; pages++ {
		if pages >= c.listPages {
			return nil, limit(LimitListPages, pages)
		}
		remaining := c.listBytes - total
		if remaining <= 0 {
			return nil, limit(LimitListBytes, pages)
		}
		q := u.Query()
		q.Set("start", strconv.Itoa(start))
		if q.Get("limit") == "" {
			q.Set("limit", strconv.Itoa(pageLimit))
		}
		pu := *u
		pu.RawQuery = q.Encode()
		var p page[T]
		n, err := c.call(lctx, request{method: http.MethodGet, u: &pu, out: &p, limit: min(c.maxAnswer, remaining)})
		total += n
		var le *LimitError
		switch {
		case err != nil && ctx.Err() == nil && lctx.Err() != nil:
			return nil, limit(LimitListTime, pages)
		case errors.As(err, &le) && le.Limit == LimitAnswerBytes && le.MaxBytes < c.maxAnswer:
			total += le.Bytes
			return nil, limit(LimitListBytes, pages)
		case err != nil:
			return nil, err
		}
		all = append(all, p.Values...)
		if p.IsLastPage {
			return all, nil
		}
		if p.NextPageStart == nil {
			return nil, &PagingError{Path: u.EscapedPath(), Reason: PagingNoNext}
		}
		next := *p.NextPageStart
		if seen[next] {
			return nil, &PagingError{Path: u.EscapedPath(), Reason: PagingRepeat, Start: next}
		}
		seen[next] = true
		start = next
	}
}
