/* Optional enhancements; every page works without JavaScript. */
(function () {
  "use strict";
  // A page restored from the back/forward cache may carry a one-time key that was
  // already used: fetch a fresh copy instead (the server keeps the answers).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
  // Keep ticked-but-unsent answers in this tab (sessionStorage, never sent anywhere):
  // a reload or the language switch (a plain link) shows them again.  They stay after a
  // send (a send lost on a flaky network loses nothing); the thank-you page forgets them.
  var PREFIX = "manyi:";
  var SKIP = { csrf_token: 1, submission_key: 1, go: 1 };
  var store = null;
  try {
    store = window.sessionStorage;
    store.setItem(PREFIX + "test", "1");
    store.removeItem(PREFIX + "test");
  } catch (error) {
    store = null;  // storage switched off: the page still works, answers are kept when sent
  }
  function keepKey() {
    return PREFIX + window.location.pathname;
  }
  function answers(form) {
    var data = {};
    for (var i = 0; i < form.elements.length; i++) {
      var element = form.elements[i];
      var name = element.name;
      if (!name || SKIP[name]) {
        continue;
      }
      if (element.type === "radio" || element.type === "checkbox") {
        data[name] = data[name] || [];
        if (element.checked) {
          data[name].push(element.value);
        }
      } else if (element.tagName === "TEXTAREA") {
        data[name] = [element.value];
      }
    }
    return data;
  }
  function restore(form, data) {
    for (var i = 0; i < form.elements.length; i++) {
      var element = form.elements[i];
      var given = data[element.name];
      if (!given || SKIP[element.name]) {
        continue;
      }
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = given.indexOf(element.value) >= 0;
      } else if (element.tagName === "TEXTAREA") {
        element.value = given[0] || "";
      }
    }
  }
  if (store) {
    if (/\/thanks$/.test(window.location.pathname)) {
      var survey = PREFIX + window.location.pathname.replace(/thanks$/, "");
      for (var k = store.length - 1; k >= 0; k--) {
        var stored = store.key(k);
        if (stored && stored.indexOf(survey) === 0) {
          store.removeItem(stored);
        }
      }
    }
    var keep = function (event) {
      var form = event.target && event.target.form;
      if (form && form.hasAttribute("data-keep")) {
        try {
          store.setItem(keepKey(), JSON.stringify(answers(form)));
        } catch (error) {
          // storage full: nothing lost that the page does not still show
        }
      }
    };
    document.addEventListener("change", keep);
    document.addEventListener("input", keep);
    var kept = document.querySelector("form[data-keep]");
    var saved = kept && store.getItem(keepKey());
    if (saved) {
      try {
        restore(kept, JSON.parse(saved));
      } catch (error) {
        store.removeItem(keepKey());
      }
    }
  }
  // 长辈模式: the switch is a link (?elder=1) that works without JavaScript; here it
  // switches at once and writes the same visit-long cookie the server writes.
  var root = document.documentElement;
  var addSayButtons = function () {};
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest && event.target.closest("a[data-elder]");
    if (!link) {
      return;
    }
    event.preventDefault();
    var on = !/(^|\s)elder(\s|$)/.test(root.className);
    root.className = on ? (root.className + " elder").trim() : root.className.replace(/(^|\s)elder(\s|$)/, " ").trim();
    document.cookie = "manyi_elder=" + (on ? "1" : "0") + "; path=/; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
    link.textContent = link.getAttribute(on ? "data-off" : "data-on");
    if (on) {
      addSayButtons();
    }
    link.setAttribute("href", "?elder=" + (on ? "0" : "1"));
  });
  // 🔊 Read a question and its options aloud with the phone's own voice (speechSynthesis;
  // nothing leaves the phone).  No button where the browser cannot speak; shown in 长辈模式.
  var speech = window.speechSynthesis;
  if (speech && typeof window.SpeechSynthesisUtterance === "function") {
    var sayLabel = document.body.getAttribute("data-say") || "";
    var stopLabel = document.body.getAttribute("data-say-stop") || "";
    var language = root.getAttribute("lang") || "zh-CN";
    var questions = document.querySelectorAll("fieldset.q");
    var SVG = "http://www.w3.org/2000/svg";
    var speaking = null;
    var reset = function () {
      if (speaking) {
        speaking.lastChild.textContent = sayLabel;
        speaking = null;
      }
    };
    var textOf = function (fieldset) {
      var parts = [];
      var legend = fieldset.querySelector("legend");
      if (legend) {
        parts.push(legend.textContent.trim());
      }
      var options = fieldset.querySelectorAll("label.o span");
      for (var j = 0; j < options.length; j++) {
        parts.push(options[j].textContent.trim());
      }
      return parts.join("。");
    };
    // Made when 长辈模式 is first shown (at load, or by the switch), never hidden-but-present before.
    addSayButtons = function () {
      addSayButtons = function () {};
      for (var q = 0; q < questions.length; q++) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "say";
      // 🔊 drawn as a small SVG: phones without an emoji font still show a speaker.
      var icon = document.createElementNS(SVG, "svg");
      icon.setAttribute("viewBox", "0 0 24 24");
      icon.setAttribute("aria-hidden", "true");
      icon.setAttribute("focusable", "false");
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", "M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z");
      path.setAttribute("fill", "currentColor");
      icon.appendChild(path);
      button.appendChild(icon);
      button.appendChild(document.createTextNode(sayLabel));
      var legend = questions[q].querySelector("legend");
      questions[q].insertBefore(button, legend ? legend.nextSibling : questions[q].firstChild);
      button.addEventListener("click", function (event) {
        var pressed = event.currentTarget;
        var again = speaking === pressed;
        speech.cancel();
        reset();
        if (again) {
          return;
        }
        var utterance = new window.SpeechSynthesisUtterance(textOf(pressed.parentNode));
        utterance.lang = language;
        var voices = speech.getVoices();
        for (var v = 0; v < voices.length; v++) {
          if (voices[v].lang && voices[v].lang.replace("_", "-").indexOf(language) === 0) {
            utterance.voice = voices[v];
            break;
          }
        }
        utterance.rate = 0.9;
        utterance.onend = reset;
        utterance.onerror = reset;
        speaking = pressed;
        pressed.lastChild.textContent = stopLabel;
        speech.speak(utterance);
      });
      }
    };
    if (/(^|\s)elder(\s|$)/.test(root.className)) {
      addSayButtons();
    }
  }
  // Send a form once: a second tap while the first is on its way is ignored here (the
  // server would ignore it too, because of the page's one-time key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) {
      return;
    }
    if (form.getAttribute("data-sent") === "1") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    form.className += " sending";
    // On a flaky network the first send may never arrive: allow another try later.
    window.setTimeout(function () {
      form.removeAttribute("data-sent");
      form.className = form.className.replace(" sending", "");
    }, 8000);
  });
}());
