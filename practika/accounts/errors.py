class AccountError(ValueError):
    """A request about an account that cannot be met, with a reason a person can read."""
