"""A real S3-compatible server for the tests: moto's server mode, on loopback, in a
process of its own (started once per test session)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import requests

from tests.processes import free_port

REGION = "eu-west-3"
# moto accepts any keys; the app signs with these like with real ones.
ACCESS_KEY = "AKIAFOODIEFASTTEST"
SECRET_KEY = "foodiefast-test-secret"


class ObjectStore:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = (workdir / "moto.log").open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=1)
                break
            except requests.RequestException:
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not start; see {workdir / 'moto.log'}") from None
                time.sleep(0.1)
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        """A bucket set up as docs/photos.md says: anyone may read ``photos/`` (the
        published sizes), nothing else (the originals under ``uploads/`` stay private)."""
        name = f"photos-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        public_photos = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/photos/*",
        }
        self.client.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_photos]})
        )
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """The app's variables for ``bucket`` on this server."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def read(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def keys(self, bucket: str) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self._log.close()
