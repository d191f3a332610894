package auth

import (
	"net/http"
	"net/url"
	"time"
)

// SameOrigin reports whether a request made with a cookie comes from a
// page of this site, as far as the browser says: Sec-Fetch-Site, when
// sent, must be same-origin, and Origin, when sent, must name the
// request's host. Origin "null" passes only beside Sec-Fetch-Site
// same-origin: browsers send it on a form post from a page whose
// Referrer-Policy is no-referrer, as every Bursar page's is, while a
// sandboxed frame of another site sends it too but then its Fetch
// Metadata says cross-site. Clients that send neither header (not a
// browser) pass; the synchronizer token (CSRFToken) is what they must
// still show. The API and the portal both check it (ASVS 5.0 3.5.1,
// 3.5.2).
func SameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" {
		return false
	}
	switch o := r.Header.Get("Origin"); {
	case o == "":
	case o == "null":
		return site == "same-origin"
	default:
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || u.Host != r.Host {
			return false
		}
	}
	return true
}

// SessionCookie is the session's cookie. The __Host- prefix makes the
// browser refuse it unless it is Secure, has Path=/ and no Domain, so no
// other host or path can set or shadow it.
const SessionCookie = "__Host-bursar_session"

// SetSessionCookie gives the browser the cookie of a new session. It
// carries no expiry: the browser forgets it when it closes, and the server
// ends the session after the idle timeout or the absolute lifetime anyway.
func SetSessionCookie(w http.ResponseWriter, secret Secret) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: string(secret), Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
}

// ClearSessionCookie tells the browser to drop the session's cookie.
func ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1, Expires: time.Unix(0, 0)})
}
