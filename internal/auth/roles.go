package auth

import "slices"

// Access is what a role may do with a resource.
type Access int

// The levels of access; write implies read.
const (
	NoAccess Access = iota
	ReadAccess
	WriteAccess
)

// Roles lists the roles from most to least powerful.
var Roles = []Role{RoleOwner, RoleAdmin, RoleAccountant, RoleViewer}

// ValidRole reports whether r is one of Roles.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// Permissions is the role → permission matrix: for each role, the access
// it has to each resource of Resources (a resource it does not name is
// NoAccess). docs/security/permissions.md shows it, and a test holds the
// two together. Owners may do everything; admins everything but the
// server's address rules; accountants keep the books but manage neither
// people, keys nor settings; viewers read the books.
var Permissions = map[Role]map[string]Access{
	RoleOwner: {
		"organization": WriteAccess, "customers": WriteAccess, "products": WriteAccess, "tax-rates": WriteAccess,
		"invoices": WriteAccess, "credit-notes": WriteAccess, "payments": WriteAccess, "api-keys": WriteAccess,
		"audit": ReadAccess, "ip-rules": WriteAccess, "users": WriteAccess,
	},
	RoleAdmin: {
		"organization": WriteAccess, "customers": WriteAccess, "products": WriteAccess, "tax-rates": WriteAccess,
		"invoices": WriteAccess, "credit-notes": WriteAccess, "payments": WriteAccess, "api-keys": WriteAccess,
		"audit": ReadAccess, "users": WriteAccess,
	},
	RoleAccountant: {
		"organization": ReadAccess, "customers": WriteAccess, "products": WriteAccess, "tax-rates": WriteAccess,
		"invoices": WriteAccess, "credit-notes": WriteAccess, "payments": WriteAccess,
	},
	RoleViewer: {
		"organization": ReadAccess, "customers": ReadAccess, "products": ReadAccess, "tax-rates": ReadAccess,
		"invoices": ReadAccess, "credit-notes": ReadAccess, "payments": ReadAccess,
	},
}

// RoleAllows reports whether the role may read (write false) or write the
// resource.
func RoleAllows(role Role, resource string, write bool) bool {
	want := ReadAccess
	if write {
		want = WriteAccess
	}
	return Permissions[role][resource] >= want
}

// Outranks reports whether a member with role a may give or take role b:
// only an owner may make or unmake an owner.
func Outranks(a, b Role) bool {
	return a == RoleOwner || (a == RoleAdmin && b != RoleOwner)
}
