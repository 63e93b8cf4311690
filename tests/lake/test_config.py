"""lake.config: defaults, every catalog kind, S3, sites, and a named error for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from lake.config import ConfigError, Secret, Settings


def test_defaults_are_the_embedded_lake_under_lakehouse():
    settings = Settings.from_env({})
    assert settings.lake_home == Path("lakehouse")
    assert settings.catalog.kind == "sqlite"
    assert settings.catalog.path == Path("lakehouse/catalog.sqlite")
    assert settings.data_path == "lakehouse/data/"
    assert settings.s3 is None
    assert settings.uses_simulated_sites


def test_lake_home_moves_catalog_and_data(tmp_path: Path):
    settings = Settings.from_env({"LAKE_HOME": str(tmp_path)})
    assert settings.catalog.path == tmp_path / "catalog.sqlite"
    assert settings.data_path == f"{tmp_path}/data/"


@pytest.mark.parametrize(
    ("url", "kind", "path"),
    [
        ("sqlite:///rel/cat.sqlite", "sqlite", Path("rel/cat.sqlite")),
        ("sqlite:////abs/cat.sqlite", "sqlite", Path("/abs/cat.sqlite")),
        ("duckdb:////abs/cat.ducklake", "duckdb", Path("/abs/cat.ducklake")),
    ],
)
def test_file_catalog_urls_follow_the_sqlalchemy_path_convention(url, kind, path):
    catalog = Settings.from_env({"LAKE_CATALOG": url}).catalog
    assert (catalog.kind, catalog.path) == (kind, path)


def test_postgres_catalog_url_is_parsed_and_its_password_hidden():
    catalog = Settings.from_env({"LAKE_CATALOG": "postgresql://lake:p%40ss%2Fw0rd@db.local:5433/ducklake"}).catalog
    assert (catalog.kind, catalog.host, catalog.port, catalog.user, catalog.dbname) == (
        "postgresql", "db.local", 5433, "lake", "ducklake")
    assert catalog.password.reveal() == "p@ss/w0rd"
    assert "p@ss" not in repr(catalog) and "p@ss" not in catalog.display()
    assert catalog.display() == "postgresql://lake:***@db.local:5433/ducklake"


def test_secret_never_shows_its_value():
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LAKE_CATALOG": "mysql://u:pw@h/db"}, "LAKE_CATALOG has an unknown scheme 'mysql'"),
        ({"LAKE_CATALOG": "just-a-path"}, "LAKE_CATALOG must look like"),
        ({"LAKE_CATALOG": "sqlite://"}, "LAKE_CATALOG (sqlite) names no file"),
        ({"LAKE_CATALOG": "postgresql://u:pw@host:notaport/db"}, "LAKE_CATALOG is not a valid postgresql:// URL"),
        ({"LAKE_CATALOG": "postgresql://u:pw@host:5432/"}, "LAKE_CATALOG must name a host and a database"),
        ({"LAKE_DATA_PATH": "gs://bucket/x/"}, "LAKE_DATA_PATH must be a local directory or an s3://"),
        ({"LAKE_DATA_PATH": "s3://"}, "LAKE_DATA_PATH s3:// URL names no bucket"),
        ({"LAKE_DATA_PATH": "s3://b/p/"}, "LAKE_S3_ACCESS_KEY_ID and LAKE_S3_SECRET_ACCESS_KEY not set"),
        ({"LAKE_DATA_PATH": "s3://b/p/", "LAKE_S3_ACCESS_KEY_ID": "k"}, "LAKE_S3_SECRET_ACCESS_KEY not set"),
        ({"LAKE_DATA_PATH": "s3://b/", "LAKE_S3_ACCESS_KEY_ID": "k", "LAKE_S3_SECRET_ACCESS_KEY": "s",
          "LAKE_S3_USE_SSL": "maybe"}, "LAKE_S3_USE_SSL must be true or false"),
        ({"LAKE_DATA_PATH": "s3://b/", "LAKE_S3_ACCESS_KEY_ID": "k", "LAKE_S3_SECRET_ACCESS_KEY": "s",
          "LAKE_S3_URL_STYLE": "virtual"}, "LAKE_S3_URL_STYLE must be path or vhost"),
        ({"LAKE_DATA_PATH": "s3://b/", "LAKE_S3_ACCESS_KEY_ID": "k", "LAKE_S3_SECRET_ACCESS_KEY": "s",
          "LAKE_S3_ENDPOINT": "http://minio:9000"}, "LAKE_S3_ENDPOINT is host:port without a scheme"),
        ({"NIGHTSCOUT_URL": "ftp://ns.example.org"}, "NIGHTSCOUT_URL must be an http(s):// URL"),
        ({"NIGHTSCOUT_URL": "https://ns.example.org/?token=abc"}, "NIGHTSCOUT_URL must not carry credentials"),
        ({"NIGHTSCOUT_URL": "https://ns.example.org", "NIGHTSCOUT_TOKEN": "t",
          "NIGHTSCOUT_API_SECRET": "s"}, "set either NIGHTSCOUT_TOKEN or NIGHTSCOUT_API_SECRET"),
        ({"NIGHTSCOUT_URL": "https://ns.example.org", "NIGHTSCOUT_SUBJECT": "Bad Name"}, "NIGHTSCOUT_SUBJECT"),
        ({"NIGHTSCOUT_URL": "https://a.example.org", "LAKE_SITES": "sites.toml"}, "not both"),
        ({"LAKE_SITES": "/nonexistent/sites.toml"}, "LAKE_SITES file /nonexistent/sites.toml cannot be read"),
        ({"NIGHTSCOUT_PAUSE_S": "fast"}, "NIGHTSCOUT_PAUSE_S must be a number of seconds"),
        ({"NIGHTSCOUT_PAUSE_S": "-1"}, "NIGHTSCOUT_PAUSE_S must be between 0 and 60"),
        ({"LAKE_MEMORY_LIMIT": "lots"}, "LAKE_MEMORY_LIMIT must be a size such as 2GB"),
        ({"LAKE_MEMORY_LIMIT": "2"}, "LAKE_MEMORY_LIMIT must be a size such as 2GB"),
    ],
)
def test_bad_configuration_fails_fast_naming_the_variable(env, message):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert message in str(info.value)


def test_secrets_are_not_echoed_in_configuration_errors():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LAKE_CATALOG": "postgresql://u:TOPSECRET@host:99999/db"})
    assert "TOPSECRET" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"NIGHTSCOUT_URL": "https://u:TOPSECRET@ns.example.org"})
    assert "TOPSECRET" not in str(info.value)


def test_s3_data_path_with_a_custom_endpoint_defaults_to_path_style():
    settings = Settings.from_env({"LAKE_DATA_PATH": "s3://bucket/lake", "LAKE_S3_ACCESS_KEY_ID": "key",
                                  "LAKE_S3_SECRET_ACCESS_KEY": "shh", "LAKE_S3_ENDPOINT": "127.0.0.1:9000",
                                  "LAKE_S3_USE_SSL": "false"})
    assert settings.data_path == "s3://bucket/lake/"
    assert (settings.s3.endpoint, settings.s3.url_style, settings.s3.use_ssl) == ("127.0.0.1:9000", "path", False)
    assert "shh" not in repr(settings)


def test_one_nightscout_site_gets_its_subject_from_the_host():
    settings = Settings.from_env({"NIGHTSCOUT_URL": "https://Alice.example.org/", "NIGHTSCOUT_TOKEN": "tok-123"})
    (site,) = settings.sites
    assert (site.subject, site.url, site.token.reveal(), site.api_secret) == (
        "alice", "https://Alice.example.org", "tok-123", None)
    assert "tok-123" not in repr(settings)
    assert not settings.uses_simulated_sites


def test_sites_file_lists_several_sites_with_secrets_from_named_variables(tmp_path: Path):
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(
        '[[site]]\nsubject = "alice"\nurl = "https://alice.example.org"\ntoken_env = "ALICE_NS_TOKEN"\n'
        '[[site]]\nsubject = "bob"\nurl = "https://bob.example.org"\napi_secret_env = "BOB_SECRET"\n')
    settings = Settings.from_env({"LAKE_SITES": str(sites_file), "ALICE_NS_TOKEN": "a-1", "BOB_SECRET": "b-2"})
    assert [(s.subject, s.token and s.token.reveal(), s.api_secret and s.api_secret.reveal())
            for s in settings.sites] == [("alice", "a-1", None), ("bob", None, "b-2")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "is not valid TOML"),
        ('title = "x"\n', "has no [[site]] tables"),
        ('site = ["x"]\n', "site #1 must be a [[site]] table with keys subject and url, not a str"),
        ('[[site]]\nsubject = "a"\n', "site #1 needs string keys subject and url"),
        ('[[site]]\nsubject = "a"\nurl = "https://a.org"\ntoken_env = "UNSET_VAR"\n',
         "token_env names variable 'UNSET_VAR', which is not set"),
        ('[[site]]\nsubject = "a"\nurl = "https://a.org"\ntoken = "inline"\n', "unknown keys ['token']"),
        ('[[site]]\nsubject = "a"\nurl = "https://a.org"\n[[site]]\nsubject = "a"\nurl = "https://b.org"\n',
         "lists subject(s) ['a'] more than once"),
    ],
)
def test_bad_sites_file_names_the_file_and_the_problem(tmp_path: Path, content, message):
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(content)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LAKE_SITES": str(sites_file)})
    assert message in str(info.value) and str(sites_file) in str(info.value)
