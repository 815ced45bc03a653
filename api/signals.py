"""A password change or reset revokes every API token of the user: a token must not outlive
the password that a stolen-account owner just changed."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from .services import token_revoke_all


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="api_tokens_on_password")
def revoke_tokens_on_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. last_login on every sign-in: no extra query
    # Compare with the stored hash: catches set_password() from the change and reset forms,
    # the admin, `manage.py changepassword` and set_unusable_password().
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        token_revoke_all(user=instance)
