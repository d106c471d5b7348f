"""Review API bodies: small input serializers per action, output serializers per record."""

from __future__ import annotations

from rest_framework import serializers

from annotate.models import Sample, Task

BUCKETS = "0 disagreement, 1 sampled single label, 2 the rest"

# Ids and numbers sent to the database: its integer range (a bigger one is a 400, not an overflow).
ID_MAX = 2_147_483_647


class ReviewQueueRowSerializer(serializers.Serializer):
    """A pending task as the queue lists it (a :class:`annotate.selectors_review.QueueRow`)."""

    task = serializers.IntegerField(source="task.pk")
    trace_id = serializers.CharField(source="task.trace.external_id")
    cluster = serializers.IntegerField(source="task.cluster.number", allow_null=True, default=None)
    bucket = serializers.IntegerField(source="task.review_bucket", help_text=BUCKETS)
    bucket_label = serializers.CharField(source="task.get_review_bucket_display")
    review_note = serializers.CharField(source="task.review_note")
    priority = serializers.FloatField(source="task.priority")
    round = serializers.IntegerField(source="task.round")
    review = serializers.CharField(source="task.review")
    annotators = serializers.ListField(child=serializers.CharField())
    sop_versions = serializers.ListField(child=serializers.IntegerField())


class ReviewDiffLineSerializer(serializers.Serializer):
    op = serializers.CharField(
        help_text='" " unchanged, "-" only in the model\'s answer, "+" only in the fix.'
    )
    text = serializers.CharField(allow_blank=True)


class ReviewVoteSerializer(serializers.Serializer):
    """An active annotation of the item (a :class:`annotate.selectors_review.Vote`)."""

    id = serializers.IntegerField(source="annotation.pk")
    annotator = serializers.CharField(source="annotation.annotator.username")
    sop_version = serializers.IntegerField(source="annotation.sop.version")
    round = serializers.IntegerField(source="annotation.round")
    values = serializers.JSONField(source="annotation.values")
    seconds_spent = serializers.FloatField(source="annotation.seconds_spent")
    created_at = serializers.DateTimeField(source="annotation.created_at")
    answer_diff = ReviewDiffLineSerializer(many=True)


class ReviewComparisonSerializer(serializers.Serializer):
    """One field across the votes, in the votes' order."""

    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    type = serializers.CharField()
    values = serializers.ListField(child=serializers.JSONField())
    differs = serializers.BooleanField()
    minority = serializers.ListField(child=serializers.BooleanField())


class ReviewConsensusSerializer(serializers.Serializer):
    reached = serializers.BooleanField()
    reasons = serializers.DictField(
        child=serializers.CharField(), help_text="field -> why it has no consensus"
    )


class ReviewHistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="annotation, or a review action: consensus, accept, fix, reject, ..."
    )
    who = serializers.CharField(allow_blank=True, help_text='"" is the service (the consensus rule).')
    round = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(allow_blank=True)
    sop_version = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    values = serializers.JSONField(allow_null=True)
    annotation_id = serializers.IntegerField(allow_null=True)


class ReviewReturnedSerializer(serializers.Serializer):
    annotator = serializers.CharField(source="annotator.username")
    comment = serializers.CharField(source="return_comment")
    status = serializers.CharField()


class ReviewSampleSerializer(serializers.ModelSerializer):
    # Plain text, not choices: the enums of other serializers' "status" fields would collide.
    origin = serializers.CharField(read_only=True, help_text=", ".join(Sample.Origin.values))
    status = serializers.CharField(read_only=True, help_text=", ".join(Sample.Status.values))
    decision = serializers.CharField(read_only=True, help_text=", ".join(Sample.Decision.values))
    sop_version = serializers.IntegerField(source="sop.version", allow_null=True, default=None)
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)

    class Meta:
        model = Sample
        fields = [
            "id",
            "task",
            "round",
            "item_key",
            "group_key",
            "origin",
            "status",
            "decision",
            "prompt",
            "answer",
            "rejected_answer",
            "output_format",
            "values",
            "lineage",
            "sop_version",
            "annotators",
            "reviewer",
            "content_hash",
            "decided_at",
        ]


class ReviewItemTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    trace_id = serializers.CharField(source="trace.external_id")
    cluster = serializers.IntegerField(source="cluster.number", allow_null=True, default=None)
    review = serializers.CharField()
    bucket = serializers.IntegerField(source="review_bucket", help_text=BUCKETS)
    review_note = serializers.CharField()
    round = serializers.IntegerField()
    required_annotations = serializers.IntegerField()
    conversation = serializers.JSONField(source="trace.conversation")
    model_answer = serializers.CharField()
    output_format = serializers.CharField()


class ReviewItemSerializer(serializers.Serializer):
    """An item with every active annotation side by side (a :class:`annotate.selectors_review.ReviewItem`)."""

    task = ReviewItemTaskSerializer()
    sop_version = serializers.IntegerField(source="sop.version", help_text="A fix is validated against it.")
    label_schema = serializers.JSONField(source="sop.label_schema")
    annotations = ReviewVoteSerializer(source="votes", many=True)
    comparison = ReviewComparisonSerializer(source="rows", many=True)
    consensus = ReviewConsensusSerializer(allow_null=True)
    returned = ReviewReturnedSerializer(many=True)
    sample = ReviewSampleSerializer(allow_null=True)
    history = ReviewHistorySerializer(many=True)


class ReviewAcceptSerializer(serializers.Serializer):
    annotation = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text="The annotation whose label becomes final."
    )
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class ReviewFixSerializer(serializers.Serializer):
    values = serializers.DictField(help_text="The final label, as the SOP's schema defines it.")
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)
    annotation = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        max_value=ID_MAX,
        help_text="The annotation the fix started from.",
    )


class ReviewRejectSerializer(serializers.Serializer):
    annotation = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    comment = serializers.CharField(max_length=2000, help_text="What is wrong; the annotator sees it.")


class ReviewBulkAcceptSerializer(serializers.Serializer):
    bucket = serializers.IntegerField(
        min_value=Task.Bucket.SAMPLED.value,
        max_value=Task.Bucket.REST.value,
        required=False,
        allow_null=True,
        default=None,
        help_text="1 sampled single labels, 2 the rest; default both. Disagreements are never bulk-accepted.",
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None
    )


class ReviewBulkAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class ReviewRequeueSerializer(serializers.Serializer):
    tasks = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
        required=False,
        allow_null=True,
        default=None,
        help_text="Task ids; default every outdated item.",
    )


class ReviewRequeuedSerializer(serializers.Serializer):
    requeued = serializers.IntegerField()


class ReviewOutdatedSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="task.pk")
    trace_id = serializers.CharField(source="task.trace.external_id")
    review = serializers.CharField(source="task.review")
    round = serializers.IntegerField(source="task.round")
    sop_versions = serializers.ListField(child=serializers.IntegerField())
    annotators = serializers.ListField(child=serializers.CharField())


class ReviewRejectedSerializer(serializers.Serializer):
    annotation = serializers.IntegerField(source="pk")
    task = serializers.IntegerField(source="task_id")
    annotator = serializers.CharField(source="annotator.username")
    status = serializers.CharField()


class ReviewAfterSerializer(serializers.Serializer):
    """Reopen or discard a final label: why (the history keeps it)."""

    comment = serializers.CharField(max_length=2000)


class ReviewReopenedSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="pk")
    review = serializers.CharField()
    review_note = serializers.CharField()
