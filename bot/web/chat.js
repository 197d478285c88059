// The web chat: sends each tap or message to POST /api/chat and shows the replies.
// No build step, no framework. The session id lives in sessionStorage only: closing the tab
// ends it, and "わすれて / Forget me" deletes the answers on the server too.
"use strict";

(function () {
  const UI = {
    ja: {
      subtitle: "相談窓口の 案内", danger: "命の 危険が あるときは", restart: "はじめから", back: "もどる",
      now: "今すぐ話したい", language: "English", help: "ヘルプ", forget: "わすれて", message: "メッセージ",
      placeholder: "ここに 書いて ください", send: "送る", locate: "位置を 送る",
      call: "電話する", chat: "チャットを ひらく",
      line: "LINEで ひらく", web: "ページを ひらく", mail: "メールを 送る", official: "公式ページ",
      failed: "送れませんでした。もう一度 おしてください。命の 危険が あるときは 119 か 110 へ。",
      noLocation: "位置が わかりませんでした。",
    },
    en: {
      subtitle: "a guide to support services", danger: "In danger now? Call", restart: "Start over", back: "Back",
      now: "Talk to someone now", language: "日本語", help: "Help", forget: "Forget me", message: "Message",
      placeholder: "Write here", send: "Send", locate: "Share my location",
      call: "Call", chat: "Open the chat",
      line: "Open in LINE", web: "Open the page", mail: "Send an e-mail", official: "Official page",
      failed: "Could not send. Please try again. If you are in danger, call 119 or 110.",
      noLocation: "Could not get your location.",
    },
  };

  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const status = document.getElementById("status");
  let lang = (navigator.language || "ja").toLowerCase().startsWith("ja") ? "ja" : "en";

  function newSessionId() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    return "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }
  let session = sessionStorage.getItem("tsunagari.session");
  if (!session) {
    session = newSessionId();
    sessionStorage.setItem("tsunagari.session", session);
  }

  function t(key, value) {
    const s = UI[lang][key] || UI.ja[key] || key;
    return value === undefined ? s : s.replace("{t}", value);
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll("[data-i18n-title]").forEach((el) => {
      el.title = t(el.dataset.i18nTitle);
      el.setAttribute("aria-label", t(el.dataset.i18nTitle));
    });
  }

  // emergency numbers and hotline numbers in the bot's words become tap-to-call links
  const PHONE = /(#\d{4}|0\d{1,4}-\d{1,4}-\d{3,4}|\b(?:110|119|189)\b)/g;

  function bubble(who, text) {
    const div = document.createElement("div");
    div.className = "msg " + who;
    if (who !== "bot") {
      div.textContent = text;
    } else {
      let last = 0;
      for (const m of text.matchAll(PHONE)) {
        div.append(text.slice(last, m.index));
        const a = document.createElement("a");
        a.href = "tel:" + m[0].replace(/-/g, "").replace("#", "%23");
        a.className = "tel";
        a.textContent = m[0];
        div.append(a);
        last = m.index + m[0].length;
      }
      div.append(text.slice(last));
    }
    chat.appendChild(div);
    return div;
  }

  // a referral's card comes worded by the server (bot/cards.py), as LINE, Telegram and Rasa
  // show it: status, contact and reason read the same everywhere; only the links are ours
  function contactLink(contact, words) {
    const value = contact.value;
    const a = document.createElement("a");
    a.className = "contact";
    a.rel = "noopener noreferrer";
    if (contact.kind === "phone" && words.dial) {
      a.href = "tel:" + words.dial.replace("#", "%23");
      a.textContent = t("call");
    } else if (contact.kind === "email") {
      a.href = "mailto:" + value;
      a.textContent = t("mail");
    } else if (/^https?:\/\//.test(value)) {
      a.href = value;
      a.target = "_blank";
      a.textContent = contact.kind === "line" ? t("line") : contact.kind === "web_chat" ? t("chat") : t("web");
    } else if (contact.kind === "line" && value.startsWith("@")) {
      a.href = "https://line.me/R/ti/p/" + encodeURIComponent(value);
      a.target = "_blank";
      a.textContent = t("line");
    } else {
      return null;
    }
    return a;
  }

  // the service's own page, when it is a web address and not the button already shown
  function officialPage(url, shown) {
    if (typeof url !== "string") return null;
    let page;
    try { page = new URL(url); } catch (err) { return null; }
    if (page.protocol !== "https:" && page.protocol !== "http:") return null;
    if (shown && shown.href === page.href) return null;
    const a = document.createElement("a");
    a.className = "official";
    a.href = page.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = t("official");
    return a;
  }

  function line(className, text) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function card(item) {
    const words = item.card;
    const li = document.createElement("li");
    li.className = "card";
    const h = document.createElement("h3");
    h.textContent = words.title;
    li.append(h, line("state" + (words.state === "open" ? " open" : ""), words.status));
    if (words.reason) li.append(line("reason", words.reason));
    li.append(line("contact-line", words.contact));
    const link = contactLink(item.contact, words);
    if (link) li.append(link);
    const page = officialPage(item.url, link);
    if (page) li.append(page);
    return li;
  }

  function disableOldOptions() {
    chat.querySelectorAll(".options button").forEach((b) => { b.disabled = true; });
  }

  // a keyboard or screen-reader user who tapped an option keeps their place: focus moves to
  // the new options instead of falling back to the top of the page (read when the tap is made:
  // the tapped button is disabled at once, which takes the focus away from it)
  function choosing() {
    const active = document.activeElement;
    return Boolean(active && active.closest && active.closest(".options, .tools"));
  }

  function render(messages, wasChoosing) {
    disableOldOptions();
    let firstNew = null;
    for (const m of messages) {
      const div = bubble("bot", m.text || "");
      firstNew = firstNew || div;
      if (m.type === "choices") {
        const group = document.createElement("div");
        group.className = "options";
        group.setAttribute("role", "group");
        group.setAttribute("aria-label", m.text);
        for (const o of m.options) {
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = o.label;
          b.dataset.payload = o.payload;
          b.addEventListener("click", () => {
            const focus = choosing();
            // one answer per question: a double tap must not answer twice
            group.querySelectorAll("button").forEach((x) => { x.disabled = true; });
            send({ choice: o.payload }, o.label, focus, group);
          });
          group.appendChild(b);
        }
        div.appendChild(group);
      } else if (m.type === "referrals") {
        const ul = document.createElement("ul");
        ul.className = "cards";
        m.items.forEach((item) => ul.appendChild(card(item)));
        div.appendChild(ul);
      }
    }
    // follow the language the bot speaks (the person may have typed "English")
    const said = messages.map((m) => m.text || "").join("");
    if (said) {
      const japanese = /[\u3040-\u30ff]/.test(said);
      const next = japanese ? "ja" : "en";
      if (next !== lang) { lang = next; applyLanguage(); }
    }
    if (firstNew) firstNew.scrollIntoView({ block: "start" });
    if (wasChoosing) {
      const next = chat.querySelector(".options button:enabled");
      if (next) next.focus({ preventScroll: true });
    }
  }

  // Taps and messages are sent one at a time, in the order they were made: a tap made while an
  // answer is still on its way (a slow phone line, "わすれて" right after a choice) waits its
  // turn instead of being dropped. What the person said shows at once.
  const TIMEOUT_MS = 15000;
  let queue = Promise.resolve();
  function send(body, echo, focus, group) {
    if (echo) bubble("me", echo);
    queue = queue.then(() => deliver(body, focus, group));
    return queue;
  }

  async function deliver(body, focus, group) {
    status.textContent = "";
    // a request that hangs must not hold back every later tap and message
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const res = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ session: session, lang: lang }, body)),
        signal: abort.signal,
      });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const data = await res.json();
      if (body.choice === "forget:yes") {
        // the server forgot: clear the screen too (someone may look at this phone later) and
        // start a fresh id so nothing links the next conversation to this one
        chat.replaceChildren();
        session = newSessionId();
        sessionStorage.setItem("tsunagari.session", session);
      }
      render(data.messages, focus);
    } catch (err) {
      status.textContent = t("failed");
      // the question is still open: its buttons come back so the person can tap again
      const groups = chat.querySelectorAll(".options");
      if (group && groups.length && groups[groups.length - 1] === group) {
        group.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  document.querySelectorAll(".tools button").forEach((b) => {
    b.addEventListener("click", () => send({ choice: b.dataset.payload }, b.textContent, choosing()));
  });
  document.getElementById("locate").addEventListener("click", () => {
    if (!navigator.geolocation) { status.textContent = t("noLocation"); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => send({ location: { latitude: pos.coords.latitude, longitude: pos.coords.longitude } }, "📍"),
      () => { status.textContent = t("noLocation"); },
      { maximumAge: 600000, timeout: 10000 },
    );
  });

  applyLanguage();
  send({ choice: "cmd:start" });
})();
