from django.urls import path

from grading import views

urlpatterns = [
    # Everyone: the grading standards, every published version
    path("grading/standards/", views.standards_index, name="grading_standards"),
    path("grading/standards/<str:key>/", views.standards_detail, name="grading_standard"),
    path("grading/standards/<str:key>/<str:version>/", views.standards_detail, name="grading_standard_version"),
    # Sellers
    path("my/listings/<int:pk>/self-assessment/", views.self_assessment, name="listing_self_assessment"),
    path("my/listings/<int:pk>/request-appraisal/", views.request_appraisal, name="listing_request_appraisal"),
    # Appraisers
    path("appraisals/", views.queue, name="appraisal_queue"),
    path("appraisals/credentials/", views.credentials, name="appraiser_credentials"),
    path("appraisals/<int:listing_id>/claim/", views.claim, name="appraisal_claim"),
    path("appraisals/<int:listing_id>/grade/", views.grade, name="appraisal_grade"),
]
