"""Sending a core ``Reply`` to a chat: HTML text in parts, the keyboard, then the images.

The text goes first, so the answer arrives even when an image cannot be sent. A local image
is uploaded once; Telegram's ``file_id`` for it is kept in storage (keyed by the image's path
and the SHA-256 of its content) and sent instead of the file afterwards. Its path is resolved
and checked each time it is sent: one that now leads out of the knowledge folder (a symlink
swapped in after loading) or to something that is not a regular file is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import MediaGroupLimit, ParseMode
from telegram.error import BadRequest

from bot.core.knowledge import Image
from bot.core.render import Reply
from bot.storage.base import Storage
from bot.tg.callback_data import encode
from bot.tg.html import split_html, truncate_caption

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
"""Telegram's limit for an uploaded photo."""


def keyboard(reply: Reply, question_id: int | None = None) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (None when it has none)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button.label, callback_data=encode(button, reply.kind, question_id)
                )
                for button in row
            ]
            for row in reply.buttons
        ]
    )


class Target:
    """Where replies go: a chat, optionally as a reply to a message and in a forum topic."""

    def __init__(
        self, chat_id: int, reply_to: int | None = None, thread_id: int | None = None
    ) -> None:
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.thread_id = thread_id

    @classmethod
    def of(cls, message: Message, *, quote: bool) -> Target:
        """Reply in *message*'s chat (and topic), quoting it if *quote*."""
        thread = message.message_thread_id if message.is_topic_message else None
        return cls(message.chat_id, message.message_id if quote else None, thread)

    @property
    def reply_parameters(self) -> ReplyParameters | None:
        """Telegram's reply parameters, or None when not replying."""
        if self.reply_to is None:
            return None
        return ReplyParameters(self.reply_to, allow_sending_without_reply=True)


async def send_reply(
    bot: Bot,
    target: Target,
    reply: Reply,
    storage: Storage,
    *,
    question_id: int | None = None,
    base: Path | None = None,
) -> list[Message]:
    """Send *reply*: its HTML in parts of at most 4,096 characters, then its images."""
    parts = split_html(reply.html)
    markup = keyboard(reply, question_id)
    sent: list[Message] = []
    for number, part in enumerate(parts, start=1):
        sent.append(
            await bot.send_message(
                target.chat_id,
                part,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup if number == len(parts) else None,
                reply_parameters=target.reply_parameters if number == 1 else None,
                message_thread_id=target.thread_id,
            )
        )
    if reply.images:
        try:
            sent.extend(await send_images(bot, target, reply.images, storage, base=base))
        except Exception as error:  # an image must never cost the answer
            log.warning(
                "Could not send the images of entry %s (%s: %s); the text was sent.",
                reply.entry_id,
                type(error).__name__,
                error,
            )
    return sent


class ImageRefused(Exception):
    """A local image that must not be sent; the message says why."""


_digests: dict[tuple[str, int, int, int, int], str] = {}


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_inside(path: Path, base: Path | None) -> tuple[Path, bytes, str]:
    """The image at *path* as it is now: its real path (inside *base*), its bytes and their
    SHA-256. Refuses a path that leads out of *base*, or to anything but a regular file."""
    if base is None:
        raise ImageRefused(f"{path} has no knowledge folder to be checked against")
    root = os.path.realpath(base)
    real = os.path.realpath(path)
    if not _inside(real, root):
        raise ImageRefused(f"{path} now leads outside the knowledge folder, to {real}")
    try:
        # O_NOFOLLOW: a symlink swapped in after realpath() is refused, not followed.
        descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise ImageRefused(f"{path} cannot be opened ({error.strerror})") from error
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ImageRefused(f"{path} is not a regular file")
        if info.st_size > MAX_PHOTO_BYTES:
            raise ImageRefused(f"{path} is larger than Telegram's 10 MB for a photo")
        with contextlib.suppress(OSError):  # where /proc is: a folder swapped meanwhile
            if not _inside(os.readlink(f"/proc/self/fd/{descriptor}"), root):
                raise ImageRefused(f"{path} was moved outside the knowledge folder")
        content = file.read(info.st_size + 1)
    key = (real, info.st_dev, info.st_ino, info.st_mtime_ns, len(content))
    if key not in _digests:
        _digests[key] = hashlib.sha256(content).hexdigest()
    return Path(real), content, _digests[key]


def cache_key(path: Path, base: Path | None) -> str:
    """The image's path as stored: relative to the knowledge folder when inside it."""
    if base is not None and path.is_relative_to(base.resolve()):
        return path.relative_to(base.resolve()).as_posix()
    return path.as_posix()


class _Photo:
    """One image as sent: a URL, a cached file_id, or a file to upload."""

    def __init__(self, image: Image, base: Path | None) -> None:
        self.image = image
        self.caption = truncate_caption(image.caption) or None
        self.key = self.hash = ""
        self.content = b""
        self.file_id: str | None = None
        if image.path is not None:
            real, self.content, self.hash = read_inside(image.path, base)
            self.key = cache_key(real, base)

    async def look_up(self, storage: Storage) -> None:
        if self.image.path is not None:
            self.file_id = await storage.cached_file_id(self.key, self.hash)

    def media(self, *, album: bool = False) -> str | InputFile:
        if self.image.path is None:
            return self.image.url or ""
        if self.file_id is not None:
            return self.file_id
        name = self.image.path.name
        return InputFile(self.content, filename=name, attach=album)

    @property
    def uploads(self) -> bool:
        return self.image.path is not None and self.file_id is None

    async def remember(self, message: Message, storage: Storage) -> None:
        if self.uploads and message.photo:
            await storage.cache_file_id(self.key, self.hash, message.photo[-1].file_id)


def _photos(images: Sequence[Image], base: Path | None) -> list[_Photo]:
    """The images that may be sent; each refused one is logged and left out."""
    photos = []
    for image in images:
        try:
            photos.append(_Photo(image, base))
        except ImageRefused as error:
            log.warning("Refused to send an image: %s.", error)
    return photos


async def send_images(
    bot: Bot,
    target: Target,
    images: Sequence[Image],
    storage: Storage,
    *,
    base: Path | None = None,
) -> list[Message]:
    """One image as a photo, several as albums of up to ten; cached file_ids reused."""
    photos = _photos(images, base)
    for photo in photos:
        await photo.look_up(storage)
    sent: list[Message] = []
    size = MediaGroupLimit.MAX_MEDIA_LENGTH
    for start in range(0, len(photos), size):
        chunk = photos[start : start + size]
        try:
            messages = await _send_chunk(bot, target, chunk)
        except BadRequest as error:
            stale = [photo for photo in chunk if photo.file_id is not None]
            if not stale:
                raise
            log.info("A cached image file_id was refused (%s); uploading again.", error)
            for photo in stale:
                photo.file_id = None
            messages = await _send_chunk(bot, target, chunk)
        for photo, message in zip(chunk, messages, strict=False):
            await photo.remember(message, storage)
        sent.extend(messages)
    return sent


async def _send_chunk(bot: Bot, target: Target, chunk: Sequence[_Photo]) -> Sequence[Message]:
    if len(chunk) == 1:
        photo = chunk[0]
        message = await bot.send_photo(
            target.chat_id,
            photo.media(),
            caption=photo.caption,
            parse_mode=None,
            reply_parameters=target.reply_parameters,
            message_thread_id=target.thread_id,
        )
        return [message]
    media = [
        InputMediaPhoto(photo.media(album=True), caption=photo.caption, parse_mode=None)
        for photo in chunk
    ]
    return await bot.send_media_group(
        target.chat_id,
        media,
        reply_parameters=target.reply_parameters,
        message_thread_id=target.thread_id,
    )
