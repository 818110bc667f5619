// Accesibilidad de la web: sphinx-togglebutton pone a cada bloque plegado (las soluciones, las celdas ocultas) un
// botón que se abre con el ratón y con el teclado (Tab hasta él, Intro o Espacio), pero con el nombre en inglés
// («Toggle hidden content»), que un lector de pantalla leería así en una página en español.
window.addEventListener("load", () => {
  document.querySelectorAll("button.toggle-button").forEach((button) => {
    button.setAttribute("aria-label", "Mostrar u ocultar el contenido plegado");
  });
});
