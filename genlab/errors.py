"""User-facing errors: each message says what was wrong and what to do."""


class GenlabError(Exception):
    """A mistake the user can fix; the CLI prints the message alone and exits with status 2."""


class UnknownModelError(GenlabError):
    pass


class DataError(GenlabError):
    pass


class ConfigError(GenlabError):
    pass


class CapabilityError(GenlabError):
    pass


class CheckpointError(GenlabError):
    pass


class RunFolderError(GenlabError):
    pass


class TrainingDiverged(GenlabError):
    pass
