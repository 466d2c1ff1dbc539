"""The accounts' services: people and roles (``users``), invitations, the password rule,
signed links, API tokens, preferences and the running tallies. Views and the CLI call these;
they never import a view."""


class AccountError(ValueError):
    """A request about an account that cannot be met, with a reason a person can read."""
