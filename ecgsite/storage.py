"""Media storage that never leaves a partial file: each file is written under a temporary name in
its folder and linked to its final name only once complete (issue 15 item 6).

Django's ``FileSystemStorage`` writes straight to the final name: when the disk fills up (or
turns read-only) mid-write, the partial file stays, with no row pointing at it, and keeps the
disk full. Here the temporary file is removed on any error, so a failed save leaves nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_makedirs

PARTIAL_PREFIX = ".partial-"  # never a name the storage hands out (those come from upload_to)


class AtomicFileSystemStorage(FileSystemStorage):
    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        try:
            if self.directory_permissions_mode is not None:
                safe_makedirs(directory, self.directory_permissions_mode, exist_ok=True)
            else:
                os.makedirs(directory, exist_ok=True)
        except FileExistsError:
            raise FileExistsError(f"{directory} exists and is not a directory.") from None
        partial = os.path.join(directory, f"{PARTIAL_PREFIX}{uuid.uuid4().hex}")
        try:
            # 0o666 and O_EXCL as Django's own _save: the umask applies, nothing is overwritten
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(partial, flags, 0o666), "wb") as handle:
                for chunk in content.chunks():
                    handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            if self.file_permissions_mode is not None:
                os.chmod(partial, self.file_permissions_mode)
            while True:
                try:
                    if self._allow_overwrite:
                        os.replace(partial, full_path)
                    else:
                        os.link(partial, full_path)  # atomic, and fails if the name is taken
                    break
                except FileExistsError:  # another request took the name meanwhile
                    name = self.get_available_name(name)
                    full_path = self.path(name)
        finally:
            with contextlib.suppress(OSError):  # gone once linked; never mask the first error
                os.unlink(partial)
        self._ensure_location_group_id(full_path)
        return os.path.relpath(full_path, self.location).replace("\\", "/")
