from rest_framework import serializers


class WebhookAckOutput(serializers.Serializer):
    received = serializers.BooleanField(help_text="Always true: the event is stored (once) and processed apart.")
    duplicate = serializers.BooleanField(help_text="True when this event id was already received.")
