"""The step runner's own masker: what it writes itself (the executed notebook, e-mails)
never passes through the supervisor's masking of the log stream."""

from __future__ import annotations

from duftui.definitions.connections import secret_refs
from duftui.definitions.masking import USER_FIELDS, Masker
from duftui.engine.params import declared_params
from duftui.steps.context import StepContext


def run_masker(ctx: StepContext) -> Masker:
    """Every secret value this run holds: the secret fields of each connection it was
    handed (with that connection's user names, for `user:password` forms) and its secret
    parameters."""
    masker = Masker()
    for name, values in ctx.connections.items():
        connection = ctx.catalogue.connections.get(name)
        if connection is None or not isinstance(values, dict):
            continue
        users = [str(v) for k, v in values.items() if k.lower() in USER_FIELDS and v]
        masker.add(
            (str(values[field]) for field, _ref in secret_refs(connection)
             if values.get(field) is not None),
            users,
        )
    for name, (param, _origin) in declared_params(ctx.catalogue, ctx.entry).items():
        if (param.secret or param.is_reference) and ctx.params.get(name) is not None:
            masker.add([str(ctx.params[name])])
    return masker
