// The citizen page's behaviour: sends a question to the assistant, renders the streamed answer and its
// numbered sources, and asks for a person. No framework and no build step; the interface strings come
// from the page (a JSON block), and every URL is relative to the page, without any key.
"use strict";

(function () {
  const strings = JSON.parse(document.getElementById("ui-strings").textContent);
  const language = document.documentElement.lang;
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const noticeText = document.getElementById("ai-notice-text");
  const handoverSection = document.getElementById("handover-section");
  const handoverButton = document.getElementById("handover");
  const handoverStatus = document.getElementById("handover-status");
  const state = { conversationId: null, lastQuestion: "", busy: false, handingOver: false };

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Only web links may become hrefs: a document's url must never run script (javascript:, data:).
  function webUrl(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  function sourceLink(url, label, description) {
    const link = element("a", null, label);
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.append(element("span", "visually-hidden", " " + description + " " + strings.new_tab));
    return link;
  }

  function addMessage(kind, who) {
    const item = element("div", "message " + kind);
    item.append(element("p", "who", who));
    const body = element("div", "text");
    item.append(body);
    log.append(item);
    return body;
  }

  // One server-sent event from its lines (the "event:" and "data:" fields; comments ignored).
  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { name: name, data: JSON.parse(data.join("\n")) } : null;
  }

  async function* serverEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let boundary;
      while ((boundary = buffer.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary).replace(/^(\r\n\r\n|\n\n|\r\r)/, "");
        const event = parseEvent(block);
        if (event) yield event;
      }
      if (done) break;
    }
    const last = parseEvent(buffer);
    if (last) yield last;
  }

  // The answer as paragraphs, its "[n]" markers turned into links to the cited pages.
  function renderAnswer(container, answer, citations) {
    const byNumber = new Map();
    for (const citation of citations) {
      const url = webUrl(citation.url);
      byNumber.set(String(citation.n), { url: url, title: citation.title || url || String(citation.n) });
    }
    container.replaceChildren();
    for (const paragraph of answer.split(/\n\s*\n/)) {
      if (!paragraph.trim()) continue;
      const p = element("p");
      for (const [index, part] of paragraph.split(/\[(\d+)\]/).entries()) {
        const cited = index % 2 === 1 ? byNumber.get(part) : null;
        if (cited && cited.url) {
          const link = sourceLink(cited.url, "[" + part + "]", strings.source + " " + part + ": " + cited.title);
          link.className = "cite";
          p.append(link);
        } else {
          p.append(index % 2 === 1 ? "[" + part + "]" : part);
        }
      }
      container.append(p);
    }
    return byNumber;
  }

  function renderSources(container, byNumber) {
    if (!byNumber.size) return;
    container.append(element("p", "sources-title", strings.sources));
    const list = element("ol", "sources");
    for (const [n, cited] of byNumber) {
      const item = element("li");
      item.value = Number(n);
      item.append(cited.url ? sourceLink(cited.url, cited.title, "") : cited.title);
      list.append(item);
    }
    container.append(list);
  }

  function finish(body, text, reply) {
    state.conversationId = reply.conversation_id || state.conversationId;
    if (reply.notice) noticeText.textContent = reply.notice;
    const byNumber = renderAnswer(text, reply.answer || "", reply.citations || []);
    renderSources(body, byNumber);
    if (reply.provenance) {
      // Art. 50(2) AI Act: the answer carries its machine-readable provenance in the page too.
      body.dataset.model = reply.provenance.model || "";
      body.dataset.weightsSha256 = reply.provenance.weights_sha256 || "";
      body.dataset.created = String(reply.provenance.created || "");
    }
    if (reply.handover_offered) {
      body.append(element("p", "offer", strings.handover_offered));
      handoverSection.classList.add("offered");
    }
  }

  function showError(body) {
    const alert = element("p", "error", strings.error);
    alert.setAttribute("role", "alert");
    body.append(alert);
  }

  async function readStream(response, body, text) {
    let streamed = "";
    for await (const event of serverEvents(response)) {
      if (event.name === "meta") {
        state.conversationId = event.data.conversation_id || state.conversationId;
        if (event.data.notice) noticeText.textContent = event.data.notice;
      } else if (event.name === "delta") {
        streamed += event.data.text || "";
        text.textContent = streamed;
      } else if (event.name === "done") {
        finish(body, text, event.data);
        return true;
      } else if (event.name === "error") {
        return false;
      }
    }
    return false; // the stream ended without its final event
  }

  async function ask(question) {
    state.busy = true;
    state.lastQuestion = question;
    send.setAttribute("aria-disabled", "true");
    log.setAttribute("aria-busy", "true");
    status.textContent = strings.writing;
    addMessage("user", strings.you).append(element("p", null, question));
    const body = addMessage("assistant", strings.assistant);
    const text = element("div", "answer");
    body.append(text);
    let ok = false;
    try {
      const response = await fetch("v1/assistant/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({
          conversation_id: state.conversationId,
          message: question,
          language: language,
          collection: null,
          stream: true,
        }),
      });
      const type = response.headers.get("Content-Type") || "";
      ok = response.ok && type.startsWith("text/event-stream") && (await readStream(response, body, text));
    } catch (_) {
      ok = false;
    }
    if (!ok) showError(body);
    status.textContent = ok ? strings.answered : "";
    log.setAttribute("aria-busy", "false");
    send.removeAttribute("aria-disabled");
    state.busy = false;
  }

  function submit(event) {
    event.preventDefault();
    const question = input.value.trim();
    if (state.busy) {
      status.textContent = strings.busy;
      return;
    }
    if (!question) {
      status.textContent = strings.empty;
      input.focus();
      return;
    }
    input.value = "";
    ask(question);
  }

  function showTicket(ticket) {
    const [before, after] = strings.handover_done.split("{ticket}");
    const number = element("strong", null, ticket);
    number.id = "ticket";
    handoverStatus.replaceChildren(before, number, after || "");
  }

  async function handover() {
    if (state.handingOver) return;
    const question = state.lastQuestion || input.value.trim();
    if (!question) {
      handoverStatus.textContent = strings.empty;
      input.focus();
      return;
    }
    state.handingOver = true;
    handoverButton.setAttribute("aria-disabled", "true");
    handoverStatus.textContent = strings.handover_sending;
    try {
      const response = await fetch("v1/assistant/handover", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ conversation_id: state.conversationId, language: language, question: question }),
      });
      const reply = await response.json();
      if (!response.ok || !reply.ticket_id) throw new Error("no ticket");
      showTicket(String(reply.ticket_id));
    } catch (_) {
      handoverStatus.textContent = strings.error;
    }
    handoverButton.removeAttribute("aria-disabled");
    state.handingOver = false;
  }

  form.addEventListener("submit", submit);
  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter starts a new line; never while an input method is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  handoverButton.addEventListener("click", handover);
})();
