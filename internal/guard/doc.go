// Package guard is what stands in front of every route (DESIGN.md §7): the
// web application firewall (the OWASP Core Rule Set run by Coraza, waf.go),
// and the limits on who may send what how often (rate limits, address
// allow and deny lists, trusted proxies). Each is an http.Handler
// middleware that the server wires before authentication, so that a
// refused request costs no database work. A refusal is a problem document
// written by the ProblemWriter that the server passes in (the API's own),
// and a WAF block is reported to Events as a security event.
//
// docs/security/waf.md describes the WAF's settings, every rule exclusion
// and why it is there, and the regression test against the Core Rule Set's
// own tests.
package guard
