"""What every trainer-certification service shares: its errors and audit snapshots."""


class CertificationError(Exception):
    """A request the rules do not allow; the message tells the person what to do instead."""


class UploadTooLarge(CertificationError):
    pass


def _snapshot(obj, *fields):
    return {name: str(getattr(obj, name)) for name in fields}
