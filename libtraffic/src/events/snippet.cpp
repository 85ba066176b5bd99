#include "traffic/events/snippet.hpp"

namespace traffic::events {

// Written compactly by hand (no build step, no minifier): every byte is sent to every page.
// Readable names where they cost little; `e` the event, `el` an ad element.
std::string_view site_snippet() noexcept {
  return R"JS((function(){
var s=document.currentScript,base=s?s.src.replace(/\/t\.js(\?.*)?$/,""):"",
site=(s&&s.getAttribute("data-website"))||location.hostname,user=s&&s.getAttribute("data-user-id");
function send(type,extra){
var e={type:type,website:site,page:location.pathname,ts:Date.now()},k;
if(document.referrer)e.referrer=document.referrer;
if(user)e.user_id=user;
for(k in extra)e[k]=extra[k];
var body=JSON.stringify(e),url=base+"/event";
if(!(navigator.sendBeacon&&navigator.sendBeacon(url,body)))
fetch(url,{method:"POST",body:body,keepalive:true,credentials:"include",headers:{"Content-Type":"text/plain"}});
}
send("pageView");
var seen={},timers=new Map(),io="IntersectionObserver"in window&&new IntersectionObserver(function(list){
list.forEach(function(x){var el=x.target,id=el.getAttribute("data-ad-id");
if(x.isIntersecting&&x.intersectionRatio>=.5){
if(!seen[id]&&!timers.has(el))timers.set(el,setTimeout(function(){
seen[id]=1;timers.delete(el);io.unobserve(el);send("adImpression",{ad_id:id});},1000));
}else if(timers.has(el)){clearTimeout(timers.get(el));timers.delete(el);}
});},{threshold:[0,.5,1]});
function watch(){if(io)document.querySelectorAll("[data-ad-id]").forEach(function(el){io.observe(el);});}
document.addEventListener("click",function(v){var el=v.target&&v.target.closest&&v.target.closest("[data-ad-id]");
if(el)send("adClick",{ad_id:el.getAttribute("data-ad-id")});},true);
if(document.readyState==="loading")document.addEventListener("DOMContentLoaded",watch);else watch();
})();
)JS";
}

}  // namespace traffic::events
