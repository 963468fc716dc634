"""Link artifacts that open in a browser: http(s) links to published outputs, or — when no
such link can be made — a note saying where the files are and how to make them reachable."""

from __future__ import annotations

from collections.abc import Sequence

from prefect.artifacts import create_link_artifact, create_markdown_artifact

from pingan.adapters.publish import Published

HOW_TO = (
    "如需在 Prefect 界面直接打开，请设置 PINGAN_OUTPUT_URL（如 s3://桶/前缀，生成预签名链接）"
    "或同时设置 PINGAN_OUTPUT_PUBLIC_URL（该存储位置对外提供访问的 http(s) 地址）。"
)


def publish_links(key: str, published: Sequence[Published], label: str) -> str:
    """One link artifact per browsable file (keys ``key``, ``key-2`` …), else one markdown
    artifact under ``key`` listing where the files are. The first key is returned."""
    browsable = [p for p in published if p.browsable]
    if not browsable:
        lines = [f"- {p.name}：{p.stored}" for p in published]
        create_markdown_artifact(
            key=key,
            markdown=f"### {label}\n\n文件位于运行该流程的机器或存储中：\n\n"
            + "\n".join(lines)
            + f"\n\n{HOW_TO}\n",
            description=f"{label}（文件位置）",
        )
        return key
    for n, p in enumerate(browsable):
        create_link_artifact(
            key=key if n == 0 else f"{key}-{n + 1}",
            link=str(p.link),
            link_text=f"{label}（{p.name}）",
            description=f"{label}：{p.name}",
        )
    return key
