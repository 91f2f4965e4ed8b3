package remotewrite

import (
	"net/http"

	"github.com/hlalert/hlalert/alerts/datasource"
)

func datasourceHTTP(rt http.RoundTripper) datasource.HTTPOptions {
	return datasource.HTTPOptions{Client: &http.Client{Transport: rt}}
}
