"""Every change the local cloud makes to moto, installed by one call: :func:`install` (LocalCloud calls it once).

The patches themselves live with their AWS service (``localcloud/<service>/``); the ones that redirect moto's
in-process work to the runner are in :mod:`localcloud.patches.redirects`.

**Lazily.** Each patch is applied when moto first imports the module it changes (:func:`when_imported`, a post-import
hook), never before. Starting the cloud therefore imports no AWS service at all: a service's code, and its patches,
are loaded by its first request (or by the first CloudFormation deploy, which imports them all). That is what makes
the cloud ready in a fraction of a second and small while idle (docs/decisions.md, 2026-12-05). A hook runs right after
its module's body, before any other module can bind names from it, so a patch is in place before anything uses it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.lambda_.runner import LambdaRunner

_hooks: dict[str, list[Callable[[], None]]] = {}
_hooks_lock = threading.RLock()


def when_imported(module: str, hook: Callable[[], None]) -> None:
    """Run ``hook()`` once ``module`` is imported: now if it already is, else right after its body first runs."""
    with _hooks_lock:
        if module not in sys.modules:
            _hooks.setdefault(module, []).append(hook)
            if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
                sys.meta_path.insert(0, _PostImportFinder())
            return
    hook()


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a watched module it asks the other finders, then wraps the loader to run the hooks.

    Hand-written because wrapt's importer (the maintained one) costs 0.2 s to import, half the readiness budget.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _hooks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _HookedLoader(spec.loader)
                return spec
        return None


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        with _hooks_lock:
            hooks = _hooks.pop(module.__name__, [])
        for hook in hooks:
            hook()

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, is_package, ...: the real loader's
        return getattr(self.loader, name)


def install(runner: LambdaRunner, endpoint_url: str) -> None:
    """Register every patch with the module it patches; idempotent (a second call only points the redirects at
    ``runner`` and the queue URLs at ``endpoint_url``)."""
    from localcloud.patches import redirects
    from localcloud.sqs import queue_urls

    redirects.set_runner(runner)
    queue_urls.set_endpoint(endpoint_url)
    if _installed["done"]:
        return
    _installed["done"] = True
    for module, target in PATCHES:
        when_imported(module, _call(target))


_installed = {"done": False}

# (the moto package whose import applies the patch, "localcloud module:function"). docs/local-cloud.md's patch table
# says what each one fixes. Service patches wait for the whole package: a hook on a module inside it would run while
# the package is half-initialised (moto.cloudformation.models imports parsing before it defines its backend), and
# would change what the package binds (moto.stepfunctions binds stepfunctions_backends from its models).
PATCHES: tuple[tuple[str, str], ...] = (
    ("moto.core.utils", "localcloud.patches.moto_core:install"),
    ("moto.moto_server.werkzeug_app", "localcloud.dynamodb.speed:install_dispatcher"),
    ("moto.awslambda", "localcloud.patches.redirects:install_lambda"),
    ("moto.secretsmanager", "localcloud.patches.redirects:install_secretsmanager"),
    ("moto.stepfunctions", "localcloud.patches.redirects:install_stepfunctions"),
    ("moto.stepfunctions", "localcloud.stepfunctions.patches:install"),
    ("moto.iam", "localcloud.patches.redirects:install_iam"),
    ("moto.codedeploy", "localcloud.codedeploy.patches:install"),
    ("moto.cloudformation", "localcloud.patches.redirects:install_cloudformation"),
    ("moto.cloudformation", "localcloud.cloudformation.resource_types:install"),
    ("moto.sqs", "localcloud.sqs.queue_urls:install"),
    ("moto.sqs", "localcloud.sqs.speed:install"),
    ("moto.dynamodb", "localcloud.dynamodb.atomicity:install"),
    ("moto.dynamodb", "localcloud.dynamodb.speed:install_query"),
    ("moto.dynamodb", "localcloud.dynamodb.speed:install_serializer"),
    ("moto.s3", "localcloud.s3.large_objects:install"),
    ("moto.s3", "localcloud.s3.multipart:install"),
    ("moto.dynamodb", "localcloud.dynamodb.replication:install"),
    ("moto.route53", "localcloud.route53.health:install"),
)


_deferred: dict[str, list[Callable[[], None]]] = {}


def _call(target: str) -> Callable[[], None]:
    def run() -> None:
        import importlib

        module_name, _, function = target.partition(":")
        module = importlib.import_module(module_name)
        hook = getattr(module, function, None)
        if hook is None and getattr(getattr(module, "__spec__", None), "_initializing", False):
            # The patched package was first imported BY the hook's own module (a test importing
            # localcloud.cloudformation.resource_types before moto.cloudformation): that module is half-initialised
            # here, so its hook runs when it ends (``run_deferred`` on its last line).
            with _hooks_lock:
                _deferred.setdefault(module_name, []).append(run)
            return
        if hook is None:
            raise AttributeError(f"{module_name} has no {function}")
        hook()

    return run


def run_deferred(module_name: str) -> None:
    """Run the hooks that fired while ``module_name`` was still being imported (see ``_call``)."""
    with _hooks_lock:
        hooks = _deferred.pop(module_name, [])
    for hook in hooks:
        hook()
