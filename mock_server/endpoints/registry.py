"""The fal endpoints the fake serves, by id; serving another means adding its module here.

The queue code knows endpoints only through `mock_server.queue.plans.Endpoint`.
"""

from __future__ import annotations

from mock_server.endpoints.reference_to_video import REFERENCE_TO_VIDEO
from mock_server.queue.plans import Endpoint

ENDPOINTS: dict[str, Endpoint] = {
    endpoint.endpoint_id: endpoint for endpoint in (REFERENCE_TO_VIDEO,)
}
