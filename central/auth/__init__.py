"""Dashboard login: accounts, sessions, API tokens, the login rate limit and the middleware
that puts every central route but a few public ones behind them (docs/security.md)."""
