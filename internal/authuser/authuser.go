// Package authuser carries the name of the user a request authenticated as
// (HTTP basic auth checked against the web configuration) from the
// listener to the handlers that record who did what.
package authuser

import "context"

type key struct{}

// With returns ctx carrying the authenticated user name.
func With(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, key{}, user)
}

// From returns the authenticated user of the request context, or "" when
// the request was not authenticated by name.
func From(ctx context.Context) string {
	u, _ := ctx.Value(key{}).(string)
	return u
}
