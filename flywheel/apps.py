from django.apps import AppConfig


class FlywheelConfig(AppConfig):
    name = "flywheel"
    verbose_name = "Flywheel pipeline"
    default_auto_field = "django.db.models.BigAutoField"
