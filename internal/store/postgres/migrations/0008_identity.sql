-- 0008: identity (issue 3): passwords, invitations, sessions, password resets,
-- sign-in throttling. Extended by the identity work.
SELECT 1;
