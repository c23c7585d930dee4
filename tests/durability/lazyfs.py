"""A small LazyFS-like FUSE passthrough for power-loss tests (test infrastructure, not product).

File data written through the mount stays in this daemon's memory until fsync/fdatasync;
SIGKILL the daemon (then `umount -l`) and every unsynced write is gone, as after a power cut.
Metadata (create/unlink/rename/mkdir) goes straight to the backing directory (a
simplification: it is treated as durable at once). Fault switches, checked on every call:
files named 'eio_fsync', 'eio_write' or 'enospc_write' in the control directory; an empty
switch fails every file, else only paths containing its text (e.g. "pos.sqlite3").

Usage: python lazyfs.py BACKING_DIR MOUNT_POINT CONTROL_DIR   (root, /dev/fuse, mfusepy, fuse3)
Adapted from /work/shared/reference/power-loss/lazyfs.py; fsync writes back only dirty ranges.
"""

import errno
import os
import sys

import mfusepy as fuse


class Lazy(fuse.Operations):
    use_ns = True

    def __init__(self, root, ctl):
        self.root, self.ctl = root, ctl
        self.dirty = {}  # path -> [image bytearray, smallest size since sync, [(start, end)] written]

    def _p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def _fault(self, name, path):
        try:
            with open(os.path.join(self.ctl, name)) as f:
                return f.read().strip() in path
        except FileNotFoundError:
            return False

    def _img(self, path):
        if path not in self.dirty:
            with open(self._p(path), 'rb') as f:
                data = bytearray(f.read())
            self.dirty[path] = [data, len(data), []]
        return self.dirty[path]

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        d = {k: getattr(st, k) for k in ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size')}
        d.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        if path in self.dirty:
            d['st_size'] = len(self.dirty[path][0])
        return d

    def readdir(self, path, fh): return ['.', '..'] + os.listdir(self._p(path))
    def access(self, path, amode): return 0
    def statfs(self, path):
        s = os.statvfs(self._p(path))
        return {k: getattr(s, k) for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail',
                                           'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)
        return 0

    def chown(self, path, uid, gid): return 0
    def utimens(self, path, times=None): return 0

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)
        return 0

    def rmdir(self, path):
        os.rmdir(self._p(path))
        return 0

    def unlink(self, path):
        self.dirty.pop(path, None)
        os.unlink(self._p(path))
        return 0

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))
        self.dirty.pop(new, None)
        if old in self.dirty:
            self.dirty[new] = self.dirty.pop(old)
        return 0

    def create(self, path, mode, fi=None):
        os.close(os.open(self._p(path), os.O_WRONLY | os.O_CREAT, mode))
        return 0

    def open(self, path, flags): return 0
    def flush(self, path, fh): return 0
    def release(self, path, fh): return 0
    def fsyncdir(self, path, datasync, fh): return 0

    def read(self, path, size, offset, fh):
        if path in self.dirty:
            return bytes(self.dirty[path][0][offset:offset + size])
        with open(self._p(path), 'rb') as f:
            f.seek(offset)
            return f.read(size)

    def write(self, path, data, offset, fh):
        if self._fault('eio_write', path):
            raise fuse.FuseOSError(errno.EIO)
        if self._fault('enospc_write', path):
            raise fuse.FuseOSError(errno.ENOSPC)
        img, _, ranges = self._img(path)
        if len(img) < offset:
            img.extend(b'\0' * (offset - len(img)))
        img[offset:offset + len(data)] = data
        ranges.append((offset, offset + len(data)))
        return len(data)

    def truncate(self, path, length, fh=None):
        entry = self._img(path)
        img = entry[0]
        if len(img) > length:
            del img[length:]
        else:
            img.extend(b'\0' * (length - len(img)))
        entry[1] = min(entry[1], length)
        return 0

    def fsync(self, path, datasync, fh):
        if self._fault('eio_fsync', path):
            raise fuse.FuseOSError(errno.EIO)
        if path in self.dirty:
            img, smallest, ranges = self.dirty.pop(path)
            fd = os.open(self._p(path), os.O_WRONLY)
            try:
                os.ftruncate(fd, smallest)  # drop what was cut off, then zero-extend, then write
                os.ftruncate(fd, len(img))
                for start, end in ranges:
                    if start < len(img):
                        os.pwrite(fd, img[start:min(end, len(img))], start)
                os.fsync(fd)
            finally:
                os.close(fd)
        return 0


if __name__ == '__main__':
    root, mnt, ctl = sys.argv[1:4]
    fuse.FUSE(Lazy(root, ctl), mnt, foreground=True, nothreads=True)
